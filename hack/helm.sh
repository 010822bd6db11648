#!/usr/bin/env bash
# Builds helm from the Go module proxy, cached by version; prints its path.
set -euo pipefail
HELM_VERSION=${HELM_VERSION:-v3.22.0}
exec "$(dirname "$0")/go-tool.sh" helm helm.sh/helm/v3/cmd/helm "$HELM_VERSION" \
  "-X helm.sh/helm/v3/internal/version.version=$HELM_VERSION"
