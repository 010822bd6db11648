#!/usr/bin/env bash
# End to end on kind, for machines with Docker (this project's CI machines
# have none: there hack/e2e-local.sh runs the same suite). Steps: create a
# kind cluster, build and load the image, run test/e2e (which helm-installs
# the chart with the bundled PostgreSQL, applies the samples, waits for
# cycles, checks relay metrics and injects faults), dump diagnostics on
# failure, delete the cluster.
#
#   KIND=kind CLUSTER=hsfleet-e2e hack/e2e-kind.sh
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
KIND=${KIND:-kind}
CLUSTER=${CLUSTER:-hsfleet-e2e}
IMAGE=${IMAGE:-hsfleet:dev}
command -v docker >/dev/null || { echo "e2e-kind: docker is required (use hack/e2e-local.sh without it)" >&2; exit 1; }
command -v "$KIND" >/dev/null || { echo "e2e-kind: $KIND not found: go install sigs.k8s.io/kind@latest" >&2; exit 1; }
t0=$SECONDS

"$KIND" create cluster --name "$CLUSTER" --wait 120s
trap '"$KIND" delete cluster --name "$CLUSTER"' EXIT
kubeconfig=$(mktemp)
"$KIND" get kubeconfig --name "$CLUSTER" >"$kubeconfig"

# The Dockerfile when buildx exists; the Docker-free tarball otherwise.
if docker buildx version >/dev/null 2>&1; then
  docker build -t "$IMAGE" .
  "$KIND" load docker-image --name "$CLUSTER" "$IMAGE"
else
  IMAGE=$IMAGE hack/image-tar.sh
  "$KIND" load image-archive --name "$CLUSTER" dist/hsfleet-image.tar
fi
hack/helm.sh >/dev/null

KUBECONFIG=$kubeconfig \
E2E_NAMESPACE=hsfleet-e2e \
E2E_ARTIFACTS="$root/dist/e2e-artifacts" \
E2E_HELM_ARGS="-f charts/hsfleet/ci/dev-postgres-values.yaml -f charts/hsfleet/ci/e2e-values.yaml --set image.repository=${IMAGE%:*} --set image.tag=${IMAGE##*:}" \
  go test -tags e2e -count=1 -timeout 30m -v ./test/e2e
echo "e2e-kind: passed in $((SECONDS - t0))s" >&2
