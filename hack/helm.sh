#!/usr/bin/env bash
# Builds helm from the Go module proxy (no binary downloads are possible here),
# caches it by version and prints the path of the binary on stdout.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
CACHE=${CACHE:-$root/.cache}
HELM_VERSION=${HELM_VERSION:-v3.22.0}
export GOTOOLCHAIN=local CGO_ENABLED=0 GOFLAGS=
export PATH="/usr/local/go/bin:$PATH"
dir=$CACHE/tools/helm-$HELM_VERSION
if [ ! -x "$dir/helm" ]; then
  mkdir -p "$dir"
  exec 9>"$dir/.lock"
  flock 9
  if [ ! -x "$dir/helm" ]; then
    echo "helm.sh: building helm $HELM_VERSION (cached in $dir)" >&2
    # Build into a temp GOBIN and rename, so a half-written binary is never seen.
    tmp=$(mktemp -d "$dir/.build.XXXXXX")
    trap 'rm -rf "$tmp"' EXIT
    GOBIN=$tmp go install -trimpath \
      -ldflags "-s -w -X helm.sh/helm/v3/internal/version.version=$HELM_VERSION" \
      "helm.sh/helm/v3/cmd/helm@$HELM_VERSION" >&2
    mv "$tmp/helm" "$dir/helm"
  fi
fi
echo "$dir/helm"
