#!/usr/bin/env bash
# Usage: build.sh [bin|crds]
#   bin  (default) builds istio-check (see main_test.go) once per recipe and
#        prints the path of the binary.
#   crds prints the path of Istio's CustomResourceDefinitions file for the
#        pinned release (istio.io/api kubernetes/customresourcedefinitions.gen.yaml),
#        copied into the cache; needs no compiling.
# Progress goes to stderr.
source "$(dirname "${BASH_SOURCE[0]}")/../harness/go-cache.sh"

MOD="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
OUT="$(cache_dir "$MOD" istio)"
CRDS="$OUT/crds/customresourcedefinitions.gen.yaml"

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

bin() {
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
*)
	say "usage: $0 [bin|crds]"
	exit 2
	;;
esac
