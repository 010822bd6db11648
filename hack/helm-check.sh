#!/usr/bin/env bash
# Chart checks (`make helm-check`): helm lint and helm template with the
# default and production values, then the Go suite in test/helmcheck, which
# also server-side dry-run applies every rendered object to envtest's
# kube-apiserver, checks schema typo rejection and RBAC parity with
# config/rbac/role.yaml. The same suite runs in `make test` (go test ./...).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
helm=$(hack/helm.sh)
"$helm" lint --strict charts/hsfleet
for f in charts/hsfleet/ci/*-values.yaml; do
  "$helm" lint --strict charts/hsfleet -f "$f"
done
"$helm" template hsfleet charts/hsfleet --kube-version 1.37.2 --namespace hsfleet-system >/dev/null
"$helm" template hsfleet charts/hsfleet --kube-version 1.37.2 --namespace hsfleet-system -f charts/hsfleet/ci/production-values.yaml >/dev/null
# shellcheck source=hack/test-env.sh
source hack/test-env.sh
go test -count=1 ./test/helmcheck/...
