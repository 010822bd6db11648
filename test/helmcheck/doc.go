// Package helmcheck holds the chart and kustomize checks that run in
// `go test ./...`: helm lint, helm template with default and production
// values, schema rejection of typos, RBAC parity with the generated role, and
// a server-side dry-run apply of every rendered object against a real
// kube-apiserver (envtest), so a real schema validates the manifests.
//
// helm is built from the Go module proxy by hack/helm.sh (cached); the
// kube-apiserver and etcd come from hack/envtest-assets.sh.
package helmcheck
