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
{{- /* fromYaml reads the first document alone: a second one (a --- line after content) is refused. */ -}}
{{- $content := false -}}
{{- $second := 0 -}}
{{- range $i, $line := splitList "\n" .Values.config -}}
{{- if and $content (not $second) (regexMatch "^---([ \t]|$)" $line) -}}
{{- $second = add1 $i -}}
{{- else if not (regexMatch "^([ \t]*(#.*)?|---([ \t].*)?|%.*)$" $line) -}}
{{- $content = true -}}
{{- end -}}
{{- end -}}
{{- if $second -}}
{{- fail (printf "values config: config.yaml holds more than one YAML document, and a second one starts at line %d (its ---); vsop reads one: remove the --- and what follows it, or merge the two" $second) -}}
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

{{/*
A duration value (values.schema.json's duration: vsop's syntax, or a number of seconds) in milliseconds,
rounded, read as parseDuration (src/cli/program.ts) reads it; the schema has already refused other forms.
*/}}
{{- define "vsop.durationMs" -}}
{{- $text := trim (toString .) -}}
{{- $ms := 0.0 -}}
{{- if regexMatch "^[0-9]+(\\.[0-9]+)?$" $text -}}
{{- $ms = mulf (float64 $text) 1000 -}}
{{- else -}}
{{- $units := dict "ns" 0.000001 "us" 0.001 "µs" 0.001 "ms" 1.0 "s" 1000.0 "m" 60000.0 "h" 3600000.0 -}}
{{- range regexFindAll "([0-9]+(\\.[0-9]*)?|\\.[0-9]+)(ns|us|µs|ms|s|m|h)" $text -1 -}}
{{- $unit := regexFind "[a-zµ]+$" . -}}
{{- $ms = addf $ms (mulf (float64 (trimSuffix $unit .)) (get $units $unit)) -}}
{{- end -}}
{{- end -}}
{{- round $ms 0 -}}
{{- end }}

{{/*
Fails, naming the value, where vsop watch would refuse its flags at start (src/cli/program.ts, watch.ts):
a duration outside its flag's range (JSON Schema checks a number's range, not a string's), and with
leader election a renew deadline not shorter than the lease, or a retry period (x 1.2, its jitter) not
shorter than the renew deadline. Bitnami's charts check values so too (their validateValues), failing
at install rather than in a CrashLoopBackOff.
*/}}
{{- define "vsop.checkDurations" -}}
{{- $le := .Values.leaderElection -}}
{{- $values := list (list "leaderElection.leaseDuration" $le.leaseDuration 1000 600000 "1s to 10m") (list "leaderElection.renewDeadline" $le.renewDeadline 1000 600000 "1s to 10m") (list "leaderElection.retryPeriod" $le.retryPeriod 100 60000 "100ms to 1m") (list "stuckAfter" .Values.stuckAfter 10000 86400000 "10s to 24h") -}}
{{- range $values -}}
{{- $ms := include "vsop.durationMs" (index . 1) | float64 -}}
{{- if or (lt $ms (index . 2 | float64)) (gt $ms (index . 3 | float64)) -}}
{{- fail (printf "values %s: %v is outside %s, the range vsop watch takes" (index . 0) (index . 1) (index . 4)) -}}
{{- end -}}
{{- end -}}
{{- if $le.enabled -}}
{{- $lease := include "vsop.durationMs" $le.leaseDuration | float64 -}}
{{- $renew := include "vsop.durationMs" $le.renewDeadline | float64 -}}
{{- $retry := include "vsop.durationMs" $le.retryPeriod | float64 -}}
{{- if ge $renew $lease -}}
{{- fail (printf "values leaderElection.renewDeadline (%v) must be shorter than leaderElection.leaseDuration (%v): a leader that cannot renew must stop writing before another replica may take the Lease" $le.renewDeadline $le.leaseDuration) -}}
{{- end -}}
{{- if ge (mulf $retry 1.2) $renew -}}
{{- fail (printf "values leaderElection.retryPeriod (%v) must be shorter than leaderElection.renewDeadline (%v) / 1.2: a leader tries to renew every retry period, with up to 20%% jitter" $le.retryPeriod $le.renewDeadline) -}}
{{- end -}}
{{- end -}}
{{- end }}
