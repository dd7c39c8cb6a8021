#!/usr/bin/env bash
# Builds kube-apiserver and etcd from this module (go.mod pins them) once per
# recipe, and prints the directory holding bin/kube-apiserver and bin/etcd.
# Progress goes to stderr. The first build takes many minutes on 2 cores.
#
# etcd: built here, from go.etcd.io/etcd/server/v3 (module root is etcd's
# main package) at the v3.5.x the apiserver's own module graph already
# requires, rather than taken from Debian's etcd-server (3.4): no apt step on
# a fresh machine, the same Go toolchain and cache as the apiserver, and
# etcd 3.5's --unsafe-no-fsync, which keeps test writes off the disk's
# critical path.
source "$(dirname "${BASH_SOURCE[0]}")/../harness/go-cache.sh"

MOD="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
OUT="$(cache_dir "$MOD" cluster)"

build() {
	[ -x "$OUT/bin/kube-apiserver" ] && [ -x "$OUT/bin/etcd" ] && return 0
	require_go
	go_env
	cd "$MOD"
	local k8s etcd tmp
	k8s="$(go list -m -f '{{.Version}}' k8s.io/kubernetes)"
	etcd="$(go list -m -f '{{.Version}}' go.etcd.io/etcd/server/v3)"
	tmp="$OUT.tmp.$$"
	rm -rf "$tmp"
	mkdir -p "$tmp/bin"
	trap 'rm -rf "$tmp"' EXIT
	say "building kube-apiserver $k8s and etcd $etcd into $OUT"
	say "first time only: downloads Go modules and compiles ~2,000 packages (measured: 5.5 min on 2 cores, 1.8 GB peak RSS)"
	say "downloading modules"
	timed "download" go mod download
	local minor="${k8s#v1.}"
	minor="${minor%%.*}"
	timed "kube-apiserver" go build -trimpath -o "$tmp/bin/kube-apiserver" -ldflags "-s -w \
		-X k8s.io/component-base/version.gitVersion=$k8s \
		-X k8s.io/component-base/version.gitMajor=1 \
		-X k8s.io/component-base/version.gitMinor=$minor \
		-X k8s.io/component-base/version.gitTreeState=clean" \
		k8s.io/kubernetes/cmd/kube-apiserver
	timed "etcd" go build -trimpath -o "$tmp/bin/etcd" -ldflags "-s -w \
		-X go.etcd.io/etcd/api/v3/version.GitSHA=module-$etcd" \
		go.etcd.io/etcd/server/v3
	rm -rf "$OUT"
	mv "$tmp" "$OUT"
	trap - EXIT
	prune_old cluster "$OUT"
}

with_lock cluster build
printf '%s\n' "$OUT"
