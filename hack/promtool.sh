#!/usr/bin/env bash
# Builds promtool from the Go module proxy, cached by version; prints its path.
set -euo pipefail
PROMETHEUS_VERSION=${PROMETHEUS_VERSION:-v0.316.0}
exec "$(dirname "$0")/go-tool.sh" promtool github.com/prometheus/prometheus/cmd/promtool "$PROMETHEUS_VERSION"
