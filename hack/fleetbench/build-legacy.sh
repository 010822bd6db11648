#!/bin/sh
# Builds an hsfleet binary whose agents run the legacy (pre-binding) secure
# cycle: no hs.bind, no hsf header in sec, no finalize key or MACs
# (legacy-cycle.patch). Only for fleetbench A/B runs against the same
# tree's normal build (docs/fleet-bench.md); never ship it.
#   hack/fleetbench/build-legacy.sh [OUT] [REV]   (defaults bin/hsfleet-legacy, HEAD)
set -eu
here=$(cd "$(dirname "$0")" && pwd)
top=$(git -C "$here" rev-parse --show-toplevel)
out=${1:-$top/bin/hsfleet-legacy}
rev=${2:-HEAD}
case $out in /*) ;; *) out=$PWD/$out ;; esac
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
git -C "$top" archive "$rev" | tar -x -C "$tmp"
(cd "$tmp" && patch -p1 --quiet <"$here/legacy-cycle.patch")
mkdir -p "$(dirname "$out")"
(cd "$tmp" && CGO_ENABLED=0 go build -trimpath -o "$out" ./cmd/hsfleet)
echo "built $out (legacy cycles, from $rev)"
