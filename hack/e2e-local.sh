#!/usr/bin/env bash
# End to end without Docker (`make e2e-local`): bring up the local
# single-node cluster built from source (hack/local-cluster), then run the
# test/e2e suite against it with the chart pointed at the cluster's throwaway
# PostgreSQL, then tear the cluster down (KEEP_CLUSTER=1 leaves it up).
# Diagnostics of a failed run land in dist/e2e-artifacts/.
#
#   E2E_RELAY_TRUST_SOURCE  relay.auth.source: api (default here: agents of
#                           the second namespace authenticate) or file (the
#                           chart default, which hack/e2e-kind.sh keeps)
#   E2E_RUN                 -test.run pattern, e.g. a subset of phases:
#                           'TestFleet/(helm_install|three_agents|database_Secret)'
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
export PATH="/usr/local/go/bin:$PATH" GOTOOLCHAIN=local
t0=$SECONDS
lap() { echo "e2e-local: $1 at +$((SECONDS - t0))s" >&2; }

source hack/local-cluster/lib.sh
cleanup() {
  rc=$?
  if [ -z "${KEEP_CLUSTER:-}" ]; then hack/local-cluster/down.sh || rc=1; fi
  lap "finished (exit $rc)"
  exit $rc
}

# Everything that needs the network (module proxy, apt) happens before the
# suite enters the node's namespace, which has no route out.
helm=$(hack/helm.sh)
REBUILD_IMAGE=1 hack/image-tar.sh >&2
hack/image-tar.sh pause >&2
CGO_ENABLED=0 go test -c -tags e2e -o bin/e2e.test ./test/e2e
lap "tools, images and the e2e binary built"

trap cleanup EXIT
kubeconfig=$(hack/local-cluster/up.sh)
lap "cluster up"

dsn=$(cat "$STATE/database.dsn")
artifacts=$root/dist/e2e-artifacts
rm -rf "$artifacts"
ip netns exec "$NETNS" env \
  PATH="$LC_BIN:$(dirname "$helm"):$PATH" \
  KUBECONFIG="$kubeconfig" \
  E2E_NAMESPACE=hsfleet-e2e \
  E2E_DATABASE_DSN="$dsn" \
  E2E_ARTIFACTS="$artifacts" \
  E2E_TIMEOUT="${E2E_TIMEOUT:-5m}" \
  E2E_RELAY_RECOVERY="${E2E_RELAY_RECOVERY:-}" \
  E2E_ROLL_FIRST_CYCLE="${E2E_ROLL_FIRST_CYCLE:-}" \
  E2E_HELM_ARGS="-f charts/hsfleet/ci/e2e-values.yaml --set image.repository=hsfleet --set image.tag=dev --set image.pullPolicy=Never --set database.dsn=$dsn --set relay.auth.source=${E2E_RELAY_TRUST_SOURCE:-api}" \
  bin/e2e.test -test.v -test.count=1 -test.timeout "${E2E_GO_TIMEOUT:-30m}" -test.run "${E2E_RUN:-.}"
lap "suite passed"
