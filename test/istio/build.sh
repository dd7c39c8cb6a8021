#!/usr/bin/env bash
# Usage: build.sh [bin|crds|gateway-api-crds]
#   bin  (default) builds istio-check (see main_test.go) once per recipe and
#        prints the path of the binary. The Gateway API CRDs go beside it
#        (crds/gateway-api-standard.yaml), where istio-check looks for them.
#   crds prints the path of Istio's CustomResourceDefinitions file for the
#        pinned release (istio.io/api kubernetes/customresourcedefinitions.gen.yaml),
#        copied into the cache; needs no compiling.
#   gateway-api-crds prints the path of the Gateway API's standard-channel
#        CRDs (config/crd/standard/*.yaml of the sigs.k8s.io/gateway-api
#        module this one requires, the release Istio 1.27 is built against),
#        concatenated into one file in the cache; needs no compiling.
# Progress goes to stderr.
source "$(dirname "${BASH_SOURCE[0]}")/../harness/go-cache.sh"

MOD="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
OUT="$(cache_dir "$MOD" istio)"
CRDS="$OUT/crds/customresourcedefinitions.gen.yaml"
GATEWAY_CRDS="$OUT/crds/gateway-api-standard.yaml"

crds() {
	[ -s "$CRDS" ] && return 0
	require_go
	go_env
	cd "$MOD"
	local dir
	say "fetching istio.io/api $(go list -m -f '{{.Version}}{{with .Replace}} => {{.Version}}{{end}}' istio.io/api) for Istio's CRDs"
	go mod download istio.io/api
	dir="$(go list -m -f '{{with .Replace}}{{.Dir}}{{else}}{{.Dir}}{{end}}' istio.io/api)"
	mkdir -p "$OUT/crds"
	cp "$dir/kubernetes/customresourcedefinitions.gen.yaml" "$CRDS.tmp.$$"
	chmod 0644 "$CRDS.tmp.$$"
	mv "$CRDS.tmp.$$" "$CRDS"
}

gateway_api_crds() {
	[ -s "$GATEWAY_CRDS" ] && return 0
	require_go
	go_env
	cd "$MOD"
	local dir f tmp="$GATEWAY_CRDS.tmp.$$"
	say "fetching sigs.k8s.io/gateway-api $(go list -m -f '{{.Version}}' sigs.k8s.io/gateway-api) for the Gateway API CRDs (standard channel)"
	go mod download sigs.k8s.io/gateway-api
	dir="$(go list -m -f '{{with .Replace}}{{.Dir}}{{else}}{{.Dir}}{{end}}' sigs.k8s.io/gateway-api)"
	mkdir -p "$OUT/crds"
	for f in "$dir"/config/crd/standard/*.yaml; do
		printf -- '---\n'
		cat "$f"
	done >"$tmp"
	mv "$tmp" "$GATEWAY_CRDS"
}

bin() {
	gateway_api_crds
	[ -x "$OUT/bin/istio-check" ] && return 0
	require_go
	go_env
	cd "$MOD"
	local tmp="$OUT/bin/istio-check.tmp.$$"
	mkdir -p "$OUT/bin"
	trap 'rm -f "$tmp"' EXIT
	say "building istio-check from istio.io/istio $(go list -m -f '{{.Version}}' istio.io/istio) (Istio 1.27.9) into $OUT/bin"
	say "first time only: downloads Go modules and compiles ~1,700 packages (measured: 6.5 min on 2 cores, 2.1 GB peak RSS)"
	say "downloading modules"
	timed "download" go mod download
	timed "istio-check" go test -c -trimpath -ldflags "-s -w" -o "$tmp" .
	mv "$tmp" "$OUT/bin/istio-check"
	trap - EXIT
	prune_old istio "$OUT"
}

case "${1:-bin}" in
bin)
	with_lock istio-bin bin
	printf '%s\n' "$OUT/bin/istio-check"
	;;
crds)
	with_lock istio-crds crds
	printf '%s\n' "$CRDS"
	;;
gateway-api-crds)
	with_lock istio-crds gateway_api_crds
	printf '%s\n' "$GATEWAY_CRDS"
	;;
*)
	say "usage: $0 [bin|crds|gateway-api-crds]"
	exit 2
	;;
esac
