#!/usr/bin/env bash
# Builds the hsfleet image without Docker: a static bin/hsfleet put into a
# one-layer image (the same shape as the Dockerfile's distroless/static:nonroot
# stage) and written as a docker-save tarball by hack/imagetar.
#
#   IMAGE=hsfleet:dev OUT=dist/hsfleet-image.tar hack/image-tar.sh
#   hack/image-tar.sh pause     # the local cluster's sandbox image instead
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
export GOTOOLCHAIN=local CGO_ENABLED=0
export PATH="/usr/local/go/bin:$PATH"
version=$(git describe --always --dirty 2>/dev/null || echo unknown)

case "${1:-hsfleet}" in
  hsfleet)
    IMAGE=${IMAGE:-hsfleet:dev}
    OUT=${OUT:-dist/hsfleet-image.tar}
    go build -trimpath -ldflags "-s -w" -o bin/hsfleet ./cmd/hsfleet
    go run ./hack/imagetar -binary bin/hsfleet -path /hsfleet -tag "$IMAGE" -out "$OUT" \
      -label "org.opencontainers.image.source=https://github.com/hsfleet/hsfleet" \
      -label "org.opencontainers.image.revision=$version"
    ;;
  pause)
    IMAGE=${PAUSE_IMAGE:-hsfleet.local/pause:3.10}
    OUT=${OUT:-dist/pause-image.tar}
    go build -trimpath -ldflags "-s -w" -o bin/pause ./hack/pause
    go run ./hack/imagetar -binary bin/pause -path /pause -tag "$IMAGE" -out "$OUT" -user 65535:65535
    ;;
  *) echo "usage: $0 [hsfleet|pause]" >&2; exit 2 ;;
esac
