{{/*
The Roles that depend on the config: VirtualServices and HTTPRoutes in the production namespace, and with
rbac.namespaced=true placeholder Services and ReferenceGrants in each developer namespace. `vsop config rbac` prints the same
objects from a ConfigMap (src/core/rbac.ts); test/integration/chart.test.ts compares the two.
*/}}
{{- define "vsop.namespacedRbac" -}}
{{- $top := . }}
{{- $production := include "vsop.defaultNamespace" . }}
{{- $roles := list (dict "namespace" $production "suffix" "virtualservices" "group" "networking.istio.io" "resource" "virtualservices" "verbs" "get, list, watch, create, update, delete") }}
{{- $roles = append $roles (dict "namespace" $production "suffix" "httproutes" "group" "gateway.networking.k8s.io" "resource" "httproutes" "verbs" "get, list, watch, create, update, delete") }}
{{- if .Values.rbac.namespaced }}
{{- range (include "vsop.developerNamespaces" . | fromYamlArray) }}
{{- $roles = append $roles (dict "namespace" . "suffix" "services" "group" "\"\"" "resource" "services" "verbs" "create, update, delete") }}
{{- $roles = append $roles (dict "namespace" . "suffix" "referencegrants" "group" "gateway.networking.k8s.io" "resource" "referencegrants" "verbs" "create, update, delete") }}
{{- end }}
{{- end }}
{{- range $roles }}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata:
  name: {{ $top.Values.name }}-{{ .suffix }}
  namespace: {{ .namespace }}
  labels:
    {{- include "vsop.labels" $top | nindent 4 }}
rules:
  - apiGroups: [{{ .group }}]
    resources: [{{ .resource }}]
    verbs: [{{ .verbs }}]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata:
  name: {{ $top.Values.name }}-{{ .suffix }}
  namespace: {{ .namespace }}
  labels:
    {{- include "vsop.labels" $top | nindent 4 }}
roleRef:
  apiGroup: rbac.authorization.k8s.io
  kind: Role
  name: {{ $top.Values.name }}-{{ .suffix }}
subjects:
  {{- include "vsop.subject" $top | nindent 2 }}
{{- end }}
{{- end }}
