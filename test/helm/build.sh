#!/usr/bin/env bash
# Builds helm (helm.sh/helm/v3/cmd/helm at the version go.mod pins) once per
# recipe for the chart tests, and prints the path of the binary. Progress goes
# to stderr. Measured on 2 cores: ~2.5 min the first time (modules shared
# with the cluster build are already in Go's caches), instant afterwards.
source "$(dirname "${BASH_SOURCE[0]}")/../harness/go-cache.sh"

MOD="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
OUT="$(cache_dir "$MOD" helm)"

build() {
	[ -x "$OUT/bin/helm" ] && return 0
	require_go
	go_env
	cd "$MOD"
	local version tmp
	version="$(go list -m -f '{{.Version}}' helm.sh/helm/v3)"
	tmp="$OUT.tmp.$$"
	rm -rf "$tmp"
	mkdir -p "$tmp/bin"
	trap 'rm -rf "$tmp"' EXIT
	say "building helm $version into $OUT"
	timed "download" go mod download
	timed "helm" go build -trimpath -o "$tmp/bin/helm" -ldflags "-s -w -X helm.sh/helm/v3/internal/version.version=$version" helm.sh/helm/v3/cmd/helm
	rm -rf "$OUT"
	mv "$tmp" "$OUT"
	trap - EXIT
	prune_old helm "$OUT"
}

with_lock helm build
printf '%s\n' "$OUT/bin/helm"
