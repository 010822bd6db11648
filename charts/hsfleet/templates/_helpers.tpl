{{/* Names. */}}
{{- define "hsfleet.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "hsfleet.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{- define "hsfleet.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
app.kubernetes.io/name: {{ include "hsfleet.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: hsfleet
{{- end }}

{{/* selectorLabels takes (dict "ctx" $ "component" "operator"). */}}
{{- define "hsfleet.selectorLabels" -}}
app.kubernetes.io/name: {{ include "hsfleet.name" .ctx }}
app.kubernetes.io/instance: {{ .ctx.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end }}

{{- define "hsfleet.image" -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) }}
{{- end }}

{{- define "hsfleet.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (printf "%s-operator" (include "hsfleet.fullname" .)) .Values.serviceAccount.name }}
{{- else }}
{{- required "serviceAccount.name is required when serviceAccount.create is false" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{/* Namespaces where agents run: agentNamespaces, or the release namespace. */}}
{{- define "hsfleet.agentNamespaces" -}}
{{- if .Values.agentNamespaces }}
{{- join "," (uniq .Values.agentNamespaces) }}
{{- else }}
{{- .Release.Namespace }}
{{- end }}
{{- end }}

{{- define "hsfleet.relayAddress" -}}
{{- if .Values.relay.address }}
{{- .Values.relay.address }}
{{- else if .Values.relay.enabled }}
{{- printf "%s-relay.%s.svc.%s:%d" (include "hsfleet.fullname" .) .Release.Namespace .Values.clusterDomain (int .Values.relay.port) }}
{{- else }}
{{- fail "relay.address is required when relay.enabled is false" }}
{{- end }}
{{- end }}

{{/* The relay's headless Service: stable per-pod DNS names for NATS routes. */}}
{{- define "hsfleet.relayRoutesService" -}}
{{- printf "%s-relay-routes" (include "hsfleet.fullname" .) }}
{{- end }}

{{/* NATS routes to every relay replica (a replica skips the route to itself). */}}
{{- define "hsfleet.relayRoutes" -}}
{{- $fullname := include "hsfleet.fullname" . }}
{{- $svc := include "hsfleet.relayRoutesService" . }}
{{- $routes := list }}
{{- range $i := until (int .Values.relay.replicas) }}
{{- $routes = append $routes (printf "nats-route://%s-relay-%d.%s.%s.svc.%s:%d" $fullname $i $svc $.Release.Namespace $.Values.clusterDomain (int $.Values.relay.cluster.port)) }}
{{- end }}
{{- join "," $routes }}
{{- end }}

{{/* The Secret (key "dsn") the operator and the agents read. */}}
{{- define "hsfleet.databaseSecretName" -}}
{{- if .Values.database.existingSecret }}
{{- .Values.database.existingSecret }}
{{- else }}
{{- printf "%s-database" (include "hsfleet.fullname" .) }}
{{- end }}
{{- end }}

{{/* Restricted Pod Security Standard, shared by every hsfleet container. */}}
{{- define "hsfleet.podSecurityContext" -}}
runAsNonRoot: true
runAsUser: 65532
runAsGroup: 65532
fsGroup: 65532
seccompProfile:
  type: RuntimeDefault
{{- end }}

{{- define "hsfleet.containerSecurityContext" -}}
allowPrivilegeEscalation: false
readOnlyRootFilesystem: true
capabilities:
  drop: ["ALL"]
{{- end }}

{{/*
"true" when the relay authenticates agents with the release namespace's
trust bundle (relay.auth.enabled). A ConfigMap volume mounts only from the
pod's own namespace, so agents in other namespaces stay unknown to the
relay: they go on unauthenticated (broadcast), which relay.allowUnauthenticated
must then allow; relay.auth.source=api reads every namespace's bundle
through the API instead, which lifts that restriction.
*/}}
{{- define "hsfleet.relayAuth" -}}
{{- $auth := and .Values.relay.enabled .Values.relay.auth.enabled -}}
{{- if and (not .Values.relay.allowUnauthenticated) (not $auth) }}
{{- fail "relay.allowUnauthenticated=false needs relay.auth.enabled (the relay must have the trust bundle to authenticate anyone)" }}
{{- end }}
{{- if and $auth (not .Values.relay.allowUnauthenticated) (ne .Values.relay.auth.source "api") }}
{{- $elsewhere := .Values.rbac.clusterWide }}
{{- range .Values.agentNamespaces }}
{{- if ne . $.Release.Namespace }}{{ $elsewhere = true }}{{ end }}
{{- end }}
{{- if $elsewhere }}
{{- fail "relay.allowUnauthenticated=false refuses agents outside the release namespace: the relay holds only the release namespace's trust bundle (docs/deploy.md, relay authentication)" }}
{{- end }}
{{- end }}
{{- $auth -}}
{{- end }}

{{/* "true" when the relay reads trust bundles through the API. */}}
{{- define "hsfleet.relayTrustAPI" -}}
{{- and (eq (include "hsfleet.relayAuth" .) "true") (eq .Values.relay.auth.source "api") -}}
{{- end }}
