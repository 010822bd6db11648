{{/*
The operator's permissions where agents run. Keep in sync with the generated
config/rbac/role.yaml (kubebuilder markers in controllers/): the chart check
test (test/helmcheck) fails when the two differ.
*/}}
{{- define "hsfleet.operatorRules" -}}
- apiGroups: ["hsfleet.io"]
  resources: ["hsagents"]
  verbs: ["get", "list", "watch", "update", "patch"]
- apiGroups: ["hsfleet.io"]
  resources: ["hsagents/status"]
  verbs: ["get", "update", "patch"]
- apiGroups: ["hsfleet.io"]
  resources: ["hsagents/finalizers"]
  verbs: ["update"]
- apiGroups: [""]
  resources: ["secrets", "configmaps"]
  verbs: ["get", "list", "watch", "create", "update", "patch"]
- apiGroups: ["apps"]
  resources: ["statefulsets"]
  verbs: ["get", "list", "watch", "create", "update", "patch"]
- apiGroups: ["events.k8s.io"]
  resources: ["events"]
  verbs: ["create", "patch"]
{{- end }}
