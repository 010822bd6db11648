#!/usr/bin/env bash
# Builds every binary the local cluster runs, from the Go module proxy, cached
# by version, and prints the bin directory on stdout (logs go to stderr).
#
# The Kubernetes components and etcd come from hack/envtest-assets.sh (one
# wrapper module, one cache: $CACHE/k8s/$K8S_VERSION/bin), so envtest and the
# local cluster never build kube-apiserver twice. CoreDNS is built here into
# the same directory.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
CACHE=${CACHE:-$root/.cache}
K8S_VERSION=${K8S_VERSION:-v1.37.2}
COREDNS_VERSION=${COREDNS_VERSION:-v1.15.0}
export GOTOOLCHAIN=local CGO_ENABLED=0 GOFLAGS=-buildvcs=false GOWORK=off
export CACHE K8S_VERSION
export PATH="/usr/local/go/bin:$PATH"

bin=$("$root/hack/envtest-assets.sh" kube-controller-manager kube-scheduler kubelet kube-proxy kubectl)

if [ ! -x "$bin/coredns" ] || ! "$bin/coredns" -version 2>/dev/null | grep -q "CoreDNS-${COREDNS_VERSION#v}"; then
  exec 9>"$CACHE/k8s/.coredns.lock"
  flock 9
  echo "local-cluster: building coredns $COREDNS_VERSION (about 2 min cold)" >&2
  tmp=$(mktemp -d "$CACHE/k8s/.coredns.XXXXXX")
  trap 'rm -rf "$tmp"' EXIT
  GOBIN=$tmp go install -trimpath -ldflags "-s -w" "github.com/coredns/coredns@$COREDNS_VERSION" >&2
  mv -f "$tmp/coredns" "$bin/coredns"
fi
echo "$bin"
