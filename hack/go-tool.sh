#!/usr/bin/env bash
# go-tool.sh NAME PACKAGE VERSION [LDFLAGS]: builds a tool from the Go module
# proxy (no binary downloads are possible here), caches it by version under
# $CACHE/tools/NAME-VERSION and prints the path of the binary on stdout.
# Concurrent callers wait on a lock; a half-written binary is never seen.
set -euo pipefail
name=$1 pkg=$2 version=$3 ldflags=${4:-}
root=$(cd "$(dirname "$0")/.." && pwd)
CACHE=${CACHE:-$root/.cache}
export GOTOOLCHAIN=local CGO_ENABLED=0 GOFLAGS=
export PATH="/usr/local/go/bin:$PATH"
dir=$CACHE/tools/$name-$version
if [ ! -x "$dir/$name" ]; then
  mkdir -p "$dir"
  exec 9>"$dir/.lock"
  flock 9
  if [ ! -x "$dir/$name" ]; then
    echo "go-tool.sh: building $name $version (cached in $dir)" >&2
    tmp=$(mktemp -d "$dir/.build.XXXXXX")
    trap 'rm -rf "$tmp"' EXIT
    GOBIN=$tmp go install -trimpath -ldflags "-s -w $ldflags" "$pkg@$version" >&2
    mv "$tmp/$name" "$dir/$name"
  fi
fi
echo "$dir/$name"
