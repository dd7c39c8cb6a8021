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

{{/*
The ConfigMap's config.yaml as text. Values "config" is either the YAML itself (a map, in a values file)
or its text (a string: `--set-file config=my-config.yaml`), kept as written, comments included. Fails,
naming the value, where the text is not YAML, not a map, or a whole ConfigMap instead of its config.yaml.
*/}}
{{- define "vsop.configText" -}}
{{- if kindIs "string" .Values.config -}}
{{- $parsed := fromYaml .Values.config -}}
{{- if hasKey $parsed "Error" -}}
{{- fail (printf "values config: a string must be the text of config.yaml (--set-file config=my-config.yaml), and this is not a YAML map: %s" (get $parsed "Error")) -}}
{{- end -}}
{{- if eq (get $parsed "kind" | toString) "ConfigMap" -}}
{{- fail "values config: this is a whole ConfigMap (kind: ConfigMap); give the config.yaml it holds under data (--set-file config=config.yaml), and let the chart name the ConfigMap" -}}
{{- end -}}
{{- .Values.config -}}
{{- else -}}
{{- toYaml .Values.config -}}
{{- end -}}
{{- end }}

{{/* The production namespace of the config. */}}
{{- define "vsop.defaultNamespace" -}}
{{- (include "vsop.configText" . | fromYaml).defaultNamespace | required "values config: defaultNamespace is required (the production namespace)" -}}
{{- end }}

{{/* The developer namespaces of the config: names, or the name of {name, headerValue, parent} entries. */}}
{{- define "vsop.developerNamespaces" -}}
{{- range (include "vsop.configText" . | fromYaml).developerNamespaces }}
- {{ if kindIs "string" . }}{{ . }}{{ else }}{{ .name }}{{ end }}
{{- end }}
{{- end }}
