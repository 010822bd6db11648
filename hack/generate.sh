#!/usr/bin/env bash
# Runs controller-gen (pinned in go.mod) for CRDs, RBAC and deepcopy.
#   generate.sh manifests | generate | check
# `check` regenerates into the tree and fails when git sees a difference, so
# hand-edited or stale generated files never land.
set -euo pipefail
cd "$(dirname "$0")/.."
cg() { go run sigs.k8s.io/controller-tools/cmd/controller-gen "$@"; }

manifests() {
  [ -d api ] || return 0
  cg rbac:roleName=hsfleet-operator crd paths="./api/..." paths="./controllers/..." \
     output:crd:artifacts:config=config/crd/bases output:rbac:artifacts:config=config/rbac
  if [ -d charts/hsfleet/files/crds ]; then cp config/crd/bases/*.yaml charts/hsfleet/files/crds/; fi
}
generate() {
  [ -d api ] || return 0
  cg object:headerFile=hack/boilerplate.go.txt paths="./api/..."
}

case "${1:-}" in
  manifests) manifests ;;
  generate) generate ;;
  check)
    manifests; generate
    if ! git diff --quiet -- api config charts || [ -n "$(git ls-files --others --exclude-standard -- api config charts)" ]; then
      echo "generated files are stale; run 'make manifests generate' and commit:" >&2
      git status --short -- api config charts >&2
      exit 1
    fi ;;
  *) echo "usage: $0 manifests|generate|check" >&2; exit 2 ;;
esac
