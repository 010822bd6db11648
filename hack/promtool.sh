#!/usr/bin/env bash
# Builds promtool from the Go module proxy (no binary downloads are possible
# here), caches it by version and prints the path of the binary on stdout.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
CACHE=${CACHE:-$root/.cache}
PROMETHEUS_VERSION=${PROMETHEUS_VERSION:-v0.316.0}
export GOTOOLCHAIN=local CGO_ENABLED=0 GOFLAGS=
export PATH="/usr/local/go/bin:$PATH"
dir=$CACHE/tools/promtool-$PROMETHEUS_VERSION
if [ ! -x "$dir/promtool" ]; then
  mkdir -p "$dir"
  exec 9>"$dir/.lock"
  flock 9
  if [ ! -x "$dir/promtool" ]; then
    echo "promtool.sh: building promtool $PROMETHEUS_VERSION (cached in $dir)" >&2
    # Build into a temp GOBIN and rename, so a half-written binary is never seen.
    tmp=$(mktemp -d "$dir/.build.XXXXXX")
    trap 'rm -rf "$tmp"' EXIT
    GOBIN=$tmp go install -trimpath -ldflags "-s -w" \
      "github.com/prometheus/prometheus/cmd/promtool@$PROMETHEUS_VERSION" >&2
    mv "$tmp/promtool" "$dir/promtool"
  fi
fi
echo "$dir/promtool"
