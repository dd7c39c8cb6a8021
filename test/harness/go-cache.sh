# Shared by test/cluster/build.sh and test/istio/build.sh (sourced, not run).
#
# Binaries built from a Go module in this repo are cached outside the repo in
#   ${VSOP_TEST_CACHE:-${XDG_CACHE_HOME:-~/.cache}/vsop-test}/<name>-<hash>/
# where <hash> covers the module's go.mod, go.sum, *.go files and build
# scripts, so a warm start never rebuilds and any change to the recipe does.
# Go's own build cache (go env GOCACHE) stays where it is; with it warm, a
# rebuild after a recipe change is mostly linking.
#
# Exit code 3 means "Go is missing or too old"; the Node harness turns it
# into an error that says what to install.

set -euo pipefail

GO_CACHE_ROOT="${VSOP_TEST_CACHE:-${XDG_CACHE_HOME:-${HOME:?set HOME or VSOP_TEST_CACHE}/.cache}/vsop-test}"
HARNESS_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"

say() { printf 'vsop-test: %s\n' "$*" >&2; }

# cache_dir MODULE_DIR NAME -> prints the cache directory for this recipe.
cache_dir() {
	local mod="$1" name="$2" hash
	hash="$(
		cd "$mod" &&
			find . -maxdepth 1 -type f \( -name '*.go' -o -name 'go.mod' -o -name 'go.sum' -o -name '*.sh' \) -print |
			LC_ALL=C sort | xargs sha256sum
		sha256sum "$HARNESS_DIR/go-cache.sh"
	)"
	hash="$(printf '%s' "$hash" | sed 's|  .*/|  |' | sha256sum | cut -c1-16)"
	printf '%s/%s-%s\n' "$GO_CACHE_ROOT" "$name" "$hash"
}

# prune_old NAME KEEP: removes NAME-* builds of other recipes (~130 MB each)
# that are over an hour old, so a run that still uses one is left alone.
prune_old() {
	local name="$1" keep="$2" d
	for d in "$GO_CACHE_ROOT/$name"-*; do
		[ -d "$d" ] && [ "$d" != "$keep" ] || continue
		[ -n "$(find "$d" -maxdepth 0 -mmin +60)" ] && rm -rf "$d"
	done
	return 0
}

# require_go: Go >= 1.24 with GOTOOLCHAIN=local, or exit 3 with what to do.
require_go() {
	if ! command -v go >/dev/null 2>&1; then
		say "error: the 'go' command was not found. The integration tests build kube-apiserver, etcd and"
		say "Istio's validator from Go modules: install Go 1.24 or newer (the official go1.24+ linux tarball"
		say "into /usr/local/go, with /usr/local/go/bin on PATH; Debian's golang-go 1.19 is too old),"
		say "or set VSOP_SKIP_CLUSTER_TESTS=1 to skip those suites explicitly."
		exit 3
	fi
	local v
	v="$(GOTOOLCHAIN=local go env GOVERSION)"
	case "$v" in
	go1.2[4-9]* | go1.[3-9][0-9]* | go[2-9]*) ;;
	*)
		say "error: found $v at $(command -v go); the integration tests need Go 1.24 or newer"
		say "(install a newer Go, or set VSOP_SKIP_CLUSTER_TESTS=1 to skip those suites explicitly)."
		exit 3
		;;
	esac
}

# go_env: the environment every build here uses.
go_env() {
	export GOTOOLCHAIN=local CGO_ENABLED=0 GOWORK=off
	export GOFLAGS="${GOFLAGS:-} -mod=readonly"
}

# with_lock NAME CMD...: runs CMD holding an exclusive lock, so two test
# runs that start cold at once build once.
with_lock() {
	local name="$1"
	shift
	mkdir -p "$GO_CACHE_ROOT"
	if command -v flock >/dev/null 2>&1; then
		(
			flock 9
			"$@"
		) 9>"$GO_CACHE_ROOT/$name.lock"
	else
		"$@"
	fi
}

# timed LABEL CMD...: runs CMD, saying every minute that it still runs (go
# build is silent for minutes), then reports its wall time.
timed() {
	local label="$1" start=$SECONDS ticker
	shift
	(
		trap 'kill "$nap" 2>/dev/null; exit 0' TERM
		t=0
		while :; do
			sleep 60 &
			nap=$!
			wait "$nap"
			t=$((t + 1))
			say "$label: still working (${t} min)"
		done
	) >/dev/null &
	ticker=$!
	local status=0
	"$@" || status=$?
	kill "$ticker" 2>/dev/null || true
	wait "$ticker" 2>/dev/null || true
	[ "$status" -eq 0 ] || return "$status"
	say "$label done in $((SECONDS - start)) s"
}
