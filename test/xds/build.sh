#!/usr/bin/env bash
# Usage: build.sh   builds xds-client (main.go: grpc-go's xDS client and test backends) once per recipe
# into the cache (see ../harness/go-cache.sh) and prints the path of the binary. Progress goes to stderr.
source "$(dirname "${BASH_SOURCE[0]}")/../harness/go-cache.sh"

MOD="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
OUT="$(cache_dir "$MOD" xds-client)"

bin() {
	[ -x "$OUT/bin/xds-client" ] && return 0
	require_go
	go_env
	cd "$MOD"
	local tmp="$OUT/bin/xds-client.tmp.$$"
	mkdir -p "$OUT/bin"
	trap 'rm -f "$tmp"' EXIT
	say "building xds-client from google.golang.org/grpc $(go list -m -f '{{.Version}}' google.golang.org/grpc) into $OUT/bin"
	timed "download" go mod download
	timed "xds-client" go build -trimpath -ldflags "-s -w" -o "$tmp" .
	mv "$tmp" "$OUT/bin/xds-client"
	trap - EXIT
	prune_old xds-client "$OUT"
}

with_lock xds-client bin
printf '%s\n' "$OUT/bin/xds-client"
