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
{{- /* fromYaml reads the first document alone: a second one (a --- line after content, and content after
it) is refused; a --- followed by comments and blank lines only (a file ending in ---) is no second
document, to Go's YAML as to vsop (loadConfig). */ -}}
{{- $content := false -}}
{{- $marker := 0 -}}
{{- $second := 0 -}}
{{- range $i, $line := splitList "\n" .Values.config -}}
{{- $isMarker := regexMatch "^---([ \t]|$)" $line -}}
{{- $hasContent := not (regexMatch "^([ \t]*(#.*)?|---([ \t]+(#.*)?)?|%.*)$" $line) -}}
{{- if and $content (not $marker) $isMarker -}}
{{- $marker = add1 $i -}}
{{- end -}}
{{- if and $marker $hasContent (not $second) -}}
{{- $second = $marker -}}
{{- end -}}
{{- if $hasContent -}}
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

{{/* The production namespace of the config (checked by vsop.checkConfig). */}}
{{- define "vsop.defaultNamespace" -}}
{{- include "vsop.checkConfig" . -}}
{{- (include "vsop.configText" . | fromYaml).defaultNamespace -}}
{{- end }}

{{/* The developer namespaces of the config: names, or the name of {name, headerValue, parent} entries (checked by vsop.checkConfig). */}}
{{- define "vsop.developerNamespaces" -}}
{{- include "vsop.checkConfig" . -}}
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

{{/* A value as vsop's config validate names it in a message (describe in src/core/config.ts). */}}
{{- define "vsop.describe" -}}
{{- $kind := kindOf . -}}
{{- if eq $kind "invalid" }}null
{{- else if eq $kind "slice" }}a list
{{- else if eq $kind "map" }}a mapping
{{- else if eq $kind "string" }}the string {{ . | quote }}
{{- else if eq $kind "bool" }}the boolean {{ . }}
{{- else }}the number {{ . }}
{{- end -}}
{{- end }}

{{/*
Fails, naming the value, where the config's namespaces are ones vsop config validate refuses (loadConfig in
src/core/config.ts, with its messages): defaultNamespace missing, not a string or not a namespace name;
developerNamespaces not a list, an entry that is neither a name nor a mapping with a name, an invalid
name, a system namespace (SYSTEM_NAMESPACES in src/core/ownership.ts) or one of excludedNamespaces, the
production namespace, or a name listed twice. The per-namespace Roles (rbac.namespaced) are rendered from
these names: a Role must never grant Service writes in kube-system, land in the release namespace for an
entry without a name, or be rendered twice (helm install would fail half-way). The other settings are
vsop's to check when it reads the ConfigMap.
*/}}
{{- define "vsop.checkConfig" -}}
{{- $config := include "vsop.configText" . | fromYaml -}}
{{- $label := "^[a-z0-9]([-a-z0-9]*[a-z0-9])?$" -}}
{{- $excluded := list "kube-system" "kube-public" "kube-node-lease" "istio-system" "istio-injection" -}}
{{- $excludedRaw := get $config "excludedNamespaces" -}}
{{- if and (hasKey $config "excludedNamespaces") (not (kindIs "invalid" $excludedRaw)) -}}
{{- if not (kindIs "slice" $excludedRaw) -}}
{{- fail (printf "values config: excludedNamespaces: must be a list of namespace names, not %s" (include "vsop.describe" $excludedRaw)) -}}
{{- end -}}
{{- range $i, $ns := $excludedRaw -}}
{{- if not (and (kindIs "string" $ns) (regexMatch $label (toString $ns)) (le (len (toString $ns)) 63)) -}}
{{- fail (printf "values config: excludedNamespaces[%d]: must be a namespace name, not %s" $i (include "vsop.describe" $ns)) -}}
{{- end -}}
{{- $excluded = append $excluded $ns -}}
{{- end -}}
{{- end -}}
{{- $production := get $config "defaultNamespace" -}}
{{- if or (not (hasKey $config "defaultNamespace")) (kindIs "invalid" $production) (eq (toString $production) "") -}}
{{- fail "values config: defaultNamespace is required (the production namespace)" -}}
{{- end -}}
{{- if not (and (kindIs "string" $production) (regexMatch $label (toString $production)) (le (len (toString $production)) 63)) -}}
{{- fail (printf "values config: defaultNamespace: must be a namespace name (lower-case letters, digits and \"-\", starting and ending with a letter or digit, at most 63), not %s" (include "vsop.describe" $production)) -}}
{{- end -}}
{{- if has $production $excluded -}}
{{- fail (printf "values config: defaultNamespace: %q is a system or excluded namespace and cannot be routed to" $production) -}}
{{- end -}}
{{- $developers := get $config "developerNamespaces" -}}
{{- if and (hasKey $config "developerNamespaces") (not (kindIs "invalid" $developers)) (not (kindIs "slice" $developers)) -}}
{{- fail (printf "values config: developerNamespaces: must be a list of namespace names, not %s" (include "vsop.describe" $developers)) -}}
{{- end -}}
{{- $seen := dict -}}
{{- range $i, $entry := (kindIs "slice" $developers | ternary $developers list) -}}
{{- $name := $entry -}}
{{- $path := printf "developerNamespaces[%d]" $i -}}
{{- if kindIs "map" $entry -}}
{{- if not (hasKey $entry "name") -}}
{{- fail (printf "values config: %s: name is required (the developer namespace)" $path) -}}
{{- end -}}
{{- $name = get $entry "name" -}}
{{- $path = printf "%s.name" $path -}}
{{- end -}}
{{- if not (kindIs "string" $name) -}}
{{- fail (printf "values config: %s: must be a namespace name, not %s" $path (include "vsop.describe" $name)) -}}
{{- end -}}
{{- if not (and (regexMatch $label $name) (le (len $name) 63)) -}}
{{- fail (printf "values config: %s: %q is not a valid namespace name (lower-case letters, digits and \"-\", starting and ending with a letter or digit, at most 63)" $path $name) -}}
{{- end -}}
{{- if has $name $excluded -}}
{{- fail (printf "values config: %s: %q is a system or excluded namespace and cannot be routed to" $path $name) -}}
{{- end -}}
{{- if eq $name $production -}}
{{- fail (printf "values config: developerNamespaces[%d]: %q is the default namespace; it cannot also be a developer namespace" $i $name) -}}
{{- end -}}
{{- if hasKey $seen $name -}}
{{- fail (printf "values config: developerNamespaces[%d]: %q is listed twice (first at developerNamespaces[%d])" $i $name (get $seen $name)) -}}
{{- end -}}
{{- $_ := set $seen $name $i -}}
{{- end -}}
{{- end }}

{{/*
Fails, naming the values, where they contradict each other: more than one replica without leader election
(two writers, and the PodDisruptionBudget and spread assume a standby); a PodDisruptionBudget that keeps
every replica (minAvailable >= replicas, or 100%: it blocks every drain); the metrics port on the probe
port; a ServiceMonitor without the Service it selects.
*/}}
{{- define "vsop.checkValues" -}}
{{- $replicas := int .Values.replicas -}}
{{- if and (not .Values.leaderElection.enabled) (gt $replicas 1) -}}
{{- fail (printf "values leaderElection.enabled=false with replicas=%d: each replica would write on its own; set replicas=1, or keep leader election" $replicas) -}}
{{- end -}}
{{- $pdb := .Values.podDisruptionBudget -}}
{{- if and $pdb.enabled (gt $replicas 1) -}}
{{- $min := $pdb.minAvailable -}}
{{- $blocks := false -}}
{{- if kindIs "string" $min -}}
{{- if not (regexMatch "^[0-9]+%$" $min) -}}
{{- fail (printf "values podDisruptionBudget.minAvailable: %q must be a number of replicas or a percentage (50%%)" $min) -}}
{{- end -}}
{{- $blocks = ge (trimSuffix "%" $min | int) 100 -}}
{{- else -}}
{{- $blocks = ge (int $min) $replicas -}}
{{- end -}}
{{- if $blocks -}}
{{- fail (printf "values podDisruptionBudget.minAvailable (%v) keeps all of replicas (%d) running, which blocks every drain: lower it (1 keeps one replica), or raise replicas" $min $replicas) -}}
{{- end -}}
{{- end -}}
{{- if eq (int .Values.metrics.port) (int .Values.healthPort) -}}
{{- fail (printf "values metrics.port and healthPort are both %d: the metrics and probe servers need a port each" (int .Values.healthPort)) -}}
{{- end -}}
{{- if and .Values.metrics.serviceMonitor.enabled (not .Values.metrics.service.enabled) -}}
{{- fail "values metrics.serviceMonitor.enabled=true needs metrics.service.enabled=true: the ServiceMonitor scrapes through that Service" -}}
{{- end -}}
{{- end }}
