// Package kubetrust is a relay.TrustSource that reads every namespace's
// operator-managed hsfleet-trust ConfigMap through the Kubernetes API
// (list+watch, cluster-wide, label- and name-selected) and merges them
// into one bundle, so a relay authenticates agents of every namespace, not
// only the ones whose ConfigMap it could mount (docs/relay-auth.md).
//
// Trust boundary: whoever may create or edit a ConfigMap named
// hsfleet-trust with the operator's managed-by label in some namespace
// adds keys to the relay's bundle. The merge fails safe: an agent ID that
// two namespaces list with different entries is accepted from neither.
package kubetrust
