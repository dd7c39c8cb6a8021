{{/* Labels of every object: the operator's "app" label, kept for its selector and the guide's commands. */}}
{{- define "vsop.labels" -}}
app: {{ .Values.name }}
app.kubernetes.io/name: vsop
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Values.image.tag | default .Chart.AppVersion | quote }}
{{- end }}

{{/* The Deployment's selector: the operator's, unchanged, since a selector cannot be changed in place. */}}
{{- define "vsop.selector" -}}
app: {{ .Values.name }}
{{- end }}

{{- define "vsop.image" -}}
{{- $tag := .Values.image.tag | default .Chart.AppVersion -}}
{{- if .Values.image.digest -}}
{{ .Values.image.repository }}:{{ $tag }}@{{ .Values.image.digest }}
{{- else -}}
{{ .Values.image.repository }}:{{ $tag }}
{{- end }}
{{- end }}

{{/* The ServiceAccount, as an RBAC subject. */}}
{{- define "vsop.subject" -}}
- kind: ServiceAccount
  name: {{ .Values.name }}
  namespace: {{ .Release.Namespace }}
{{- end }}

{{/* The developer namespaces of the config: names, or the name of {name, headerValue, parent} entries. */}}
{{- define "vsop.developerNamespaces" -}}
{{- range .Values.config.developerNamespaces }}
- {{ if kindIs "string" . }}{{ . }}{{ else }}{{ .name }}{{ end }}
{{- end }}
{{- end }}
