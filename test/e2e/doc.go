// Package e2e is the end-to-end suite (build tag e2e): it helm-installs the
// chart into the cluster of $KUBECONFIG, applies the alice/bob/carol samples,
// waits for every agent to complete handshake cycles with every other, then
// checks the relay replicas share the fleet, injects faults (agent pod
// deleted, relay replica deleted, chart upgraded with a changed CRD,
// identity rotated, HSAgent deleted) and checks the fleet heals. On failure it dumps pod logs,
// `kubectl describe` output and events into $E2E_ARTIFACTS.
//
// Run it through hack/e2e-local.sh (local cluster built from source) or
// hack/e2e-kind.sh (kind, where Docker exists):
//
//	go test -tags e2e -count=1 -timeout 30m -v ./test/e2e
//
// Environment:
//
//	KUBECONFIG         cluster to test (required)
//	E2E_NAMESPACE      namespace for the release and the agents (default hsfleet-e2e)
//	E2E_HELM_ARGS      extra helm install arguments, whitespace separated
//	                   (image, database settings)
//	E2E_DATABASE_DSN   when set, deleted agents' rows are checked in PostgreSQL
//	E2E_ARTIFACTS      diagnostics directory (default a temp dir, printed)
//	E2E_TIMEOUT        overall wait per phase (default 5m)
//	E2E_RELAY_RECOVERY bound on every pair cycling again after a relay pod
//	                   is deleted (default 20s)
//	E2E_ROLL_FIRST_CYCLE bound on every agent's new pod completing a cycle
//	                   after a database Secret change rolled them (default 6s)
package e2e
