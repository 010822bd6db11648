{{/*
The operator's permissions where agents run. Keep in sync with the generated
config/rbac/role.yaml (kubebuilder markers in controllers/): the chart check
test (test/helmcheck) fails when the two differ.
*/}}
{{- define "hsfleet.operatorRules" -}}
- apiGroups: ["hsfleet.io"]
  resources: ["hsagents"]
  verbs: ["get", "list", "watch", "patch"]
- apiGroups: ["hsfleet.io"]
  resources: ["hsagents/status"]
  verbs: ["patch"]
- apiGroups: ["hsfleet.io"]
  resources: ["hsagents/finalizers"]
  verbs: ["update"]
- apiGroups: [""]
  resources: ["secrets"]
  verbs: ["get", "list", "watch", "create", "update", "patch", "delete"]
- apiGroups: [""]
  resources: ["configmaps"]
  verbs: ["get", "list", "watch", "create", "update"]
- apiGroups: ["apps"]
  resources: ["statefulsets"]
  verbs: ["get", "list", "watch", "create", "patch"]
- apiGroups: ["events.k8s.io"]
  resources: ["events"]
  verbs: ["create", "patch"]
{{- end }}
