#!/usr/bin/env bash
# Usage: build.sh ANCHORS_DIR
# Builds the seed VirtualService operator (ANCHORS_DIR/vs-operator, outside
# this repo) once per recipe, and prints the path of the binary. Progress goes
# to stderr.
#
# The public source has no go.mod: its .gitignore (`*.mod*`) kept it out of
# the repository, so `go build` there fails. vs-operator.go.mod beside this
# script is that file rebuilt: the direct requirements main.go imports, at
# the versions of the source's own go.sum, then `go mod tidy`, which gives
# back that go.sum unchanged. The build copies the source to a scratch
# directory, puts the go.mod in, and builds with -mod=readonly against the
# source's go.sum, so every module is checked against the sums it published.
#
# The cache key covers every *.go file and the go.sum of the source (its
# subpackages included, unlike cache_dir in go-cache.sh, which looks at one
# directory), the go.mod here, this script and go-cache.sh.
source "$(dirname "${BASH_SOURCE[0]}")/../harness/go-cache.sh"

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
SRC="${1:?usage: build.sh ANCHORS_DIR}/vs-operator"
[ -f "$SRC/main.go" ] || {
	say "error: $SRC/main.go not found: the seed operator's source is missing"
	exit 2
}

recipe_hash() {
	{
		(cd "$SRC" && find . -type f \( -name '*.go' -o -name 'go.sum' \) -print | LC_ALL=C sort | xargs sha256sum)
		(cd "$HERE" && sha256sum vs-operator.go.mod build.sh)
		sha256sum "$HARNESS_DIR/go-cache.sh" | sed 's|  .*/|  |'
	} | sha256sum | cut -c1-16
}

OUT="$GO_CACHE_ROOT/vs-operator-$(recipe_hash)"

build() {
	[ -x "$OUT/bin/vs-operator" ] && return 0
	require_go
	go_env
	local tmp="$OUT.tmp.$$"
	rm -rf "$tmp"
	mkdir -p "$tmp/src" "$tmp/bin"
	trap 'rm -rf "$tmp"' EXIT
	cp -R "$SRC/." "$tmp/src/"
	chmod -R u+w "$tmp/src"
	cp "$HERE/vs-operator.go.mod" "$tmp/src/go.mod"
	say "building the seed operator from $SRC into $OUT"
	say "first time only: downloads Go modules and compiles ~700 packages (measured: about 1 min on 2 cores with a warm module cache)"
	(cd "$tmp/src" && timed "vs-operator" go build -trimpath -ldflags "-s -w" -o "$tmp/bin/vs-operator" .)
	rm -rf "$tmp/src"
	rm -rf "$OUT"
	mv "$tmp" "$OUT"
	trap - EXIT
	prune_old vs-operator "$OUT"
}

with_lock vs-operator build
printf '%s\n' "$OUT/bin/vs-operator"
