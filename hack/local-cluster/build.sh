#!/usr/bin/env bash
# Builds the Kubernetes control plane, node components, etcd and CoreDNS from
# the Go module proxy (nothing else is reachable here) and caches them by
# version. Prints the bin directory on stdout; progress goes to stderr.
#
#   build.sh                       build everything the local cluster needs
#   build.sh etcd kube-apiserver   build only these (envtest needs just the two)
#
# Layout, shared with hack/envtest-assets.sh so each binary is built once:
#   $CACHE/k8s/$K8S_VERSION/src   wrapper module (k8s.io/kubernetes + staging replaces)
#   $CACHE/k8s/$K8S_VERSION/bin   etcd kube-apiserver kube-controller-manager
#                                 kube-scheduler kubelet kube-proxy kubectl coredns
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
CACHE=${CACHE:-$root/.cache}
K8S_VERSION=${K8S_VERSION:-v1.37.2}
ETCD_VERSION=${ETCD_VERSION:-v3.6.16}
COREDNS_VERSION=${COREDNS_VERSION:-v1.15.0}
export GOTOOLCHAIN=local CGO_ENABLED=0 GOFLAGS=-mod=mod
export PATH="/usr/local/go/bin:$PATH"

base=$CACHE/k8s/$K8S_VERSION
bin=$base/bin
mkdir -p "$bin"
all=(etcd kube-apiserver kube-controller-manager kube-scheduler kubelet kube-proxy kubectl coredns)
want=("$@")
[ ${#want[@]} -gt 0 ] || want=("${all[@]}")

missing=()
for b in "${want[@]}"; do [ -x "$bin/$b" ] || missing+=("$b"); done
if [ ${#missing[@]} -eq 0 ]; then echo "$bin"; exit 0; fi

# One builder at a time: envtest-assets.sh and up.sh may race on a fresh machine.
exec 9>"$base/.build.lock"
flock 9
log() { echo "k8s-build: $*" >&2; }

# k8s.io/kubernetes pins its staging modules at v0.0.0 with local replaces that
# a dependent module ignores: replace each with the matching published v0.x.
k8s_wrapper() {
  local src=$base/src
  [ -f "$src/go.sum" ] && [ -f "$src/.ready" ] && return 0
  mkdir -p "$src"
  local gomod minor
  gomod=$(go mod download -json "k8s.io/kubernetes@$K8S_VERSION" | sed -n 's/.*"GoMod": "\(.*\)".*/\1/p')
  minor=${K8S_VERSION#v1.}
  {
    echo "module hsfleet.local/k8s-build"
    echo
    echo "go 1.26.0"
    echo
    echo "require k8s.io/kubernetes $K8S_VERSION"
    echo
    echo "replace ("
    sed -n '/^replace (/,/^)/p' "$gomod" | awk '/=> \.\/staging/ {print $1}' |
      grep -v -e sample-cli-plugin -e sample-controller |
      while read -r m; do echo "	$m => $m v0.$minor"; done
    echo ")"
  } >"$src/go.mod"
  cat >"$src/tools.go" <<'GO'
//go:build tools

// Package tools pins the commands this wrapper module builds.
package tools

import (
	_ "k8s.io/kubernetes/cmd/kube-apiserver"
	_ "k8s.io/kubernetes/cmd/kube-controller-manager"
	_ "k8s.io/kubernetes/cmd/kube-proxy"
	_ "k8s.io/kubernetes/cmd/kube-scheduler"
	_ "k8s.io/kubernetes/cmd/kubectl"
	_ "k8s.io/kubernetes/cmd/kubelet"
)
GO
  (cd "$src" && go mod tidy -e >&2)
  touch "$src/.ready"
}

k8s_build() {
  local name=$1 minor=${K8S_VERSION#v1.} ld=""
  minor=${minor%%.*}
  local p
  for p in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
    ld+=" -X $p.gitVersion=$K8S_VERSION -X $p.gitMajor=1 -X $p.gitMinor=$minor"
    ld+=" -X $p.gitTreeState=clean -X $p.buildDate=1970-01-01T00:00:00Z"
  done
  k8s_wrapper
  log "building $name $K8S_VERSION"
  (cd "$base/src" && go build -trimpath -ldflags "-s -w$ld" -o "$bin/.$name.tmp" "k8s.io/kubernetes/cmd/$name")
  mv "$bin/.$name.tmp" "$bin/$name"
}

# etcd's go.mod has replace directives, so `go install mod@v` is refused.
etcd_build() {
  local src=$CACHE/etcd/$ETCD_VERSION/src
  mkdir -p "$src"
  if [ ! -f "$src/.ready" ]; then
    printf 'module hsfleet.local/etcd-build\n\ngo 1.26.0\n\nrequire go.etcd.io/etcd/server/v3 %s\n' "$ETCD_VERSION" >"$src/go.mod"
    printf '//go:build tools\n\npackage tools\n\nimport _ "go.etcd.io/etcd/server/v3"\n' >"$src/tools.go"
    (cd "$src" && go mod tidy -e >&2)
    touch "$src/.ready"
  fi
  log "building etcd $ETCD_VERSION"
  (cd "$src" && go build -trimpath -ldflags "-s -w" -o "$bin/.etcd.tmp" go.etcd.io/etcd/server/v3)
  mv "$bin/.etcd.tmp" "$bin/etcd"
}

coredns_build() {
  log "building coredns $COREDNS_VERSION"
  local gobin=$CACHE/tools/coredns-$COREDNS_VERSION
  GOBIN=$gobin GOFLAGS= go install -trimpath -ldflags "-s -w" "github.com/coredns/coredns@$COREDNS_VERSION"
  cp "$gobin/coredns" "$bin/.coredns.tmp" && mv "$bin/.coredns.tmp" "$bin/coredns"
}

for b in "${missing[@]}"; do
  [ -x "$bin/$b" ] && continue # built by a racing builder while we waited
  start=$SECONDS
  case $b in
    etcd) etcd_build ;;
    coredns) coredns_build ;;
    kube-apiserver | kube-controller-manager | kube-scheduler | kubelet | kube-proxy | kubectl) k8s_build "$b" ;;
    *) echo "k8s-build: unknown binary $b" >&2; exit 2 ;;
  esac
  log "$b done in $((SECONDS - start))s"
done
echo "$bin"
