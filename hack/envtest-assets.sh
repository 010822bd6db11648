#!/usr/bin/env bash
# Builds the Kubernetes control-plane binaries envtest needs (etcd and
# kube-apiserver) from the Go module proxy, caches them under
# $CACHE/k8s/$K8S_VERSION/bin and prints that directory on stdout (nothing
# else goes to stdout; logs go to stderr). A second run only checks that the
# cached binaries exist and report the right version.
#
#   hack/envtest-assets.sh                      # etcd + kube-apiserver
#   hack/envtest-assets.sh kubelet kube-proxy   # also build these k8s.io/kubernetes/cmd/* targets
#   K8S_EXTRA_TARGETS="kube-scheduler" hack/envtest-assets.sh
#
# Extra targets go into the same bin directory, built from the same wrapper
# module (k8s.io/kubernetes pinned, staging modules replaced by their
# published versions), so callers such as a local-cluster script share one
# cache. The wrapper module lives under $CACHE (git-ignored), never in the
# main module.
set -euo pipefail

repo_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
CACHE=${CACHE:-$repo_root/.cache}
K8S_VERSION=${K8S_VERSION:-v1.37.2}
ETCD_VERSION=${ETCD_VERSION:-v3.6.16}
GO=${GO:-go}
export GOTOOLCHAIN=${GOTOOLCHAIN:-local}
export CGO_ENABLED=0
# The wrapper modules are not the main module: never let a caller's GOFLAGS
# (e.g. -mod=vendor) or go.work leak in.
export GOFLAGS=-buildvcs=false GOWORK=off

# Every k8s.io/kubernetes/cmd target the wrapper module can build. They are all
# imported by tools.go before `go mod tidy`, so adding a target later does not
# need a new tidy run.
known_targets=(kube-apiserver kube-controller-manager kube-scheduler kubelet kube-proxy kubectl)

bin_dir=$CACHE/k8s/$K8S_VERSION/bin
src_root=$CACHE/k8s/src
log() { echo "envtest-assets: $*" >&2; }

# k8s_minor v1.37.2 -> 37 ; staging_version v1.37.2 -> v0.37.2
k8s_major_minor() { local v=${K8S_VERSION#v}; echo "${v%%.*} $(echo "$v" | cut -d. -f2)"; }
staging_version() { echo "v0.${K8S_VERSION#v1.}"; }

is_known_target() {
  local t
  for t in "${known_targets[@]}"; do [ "$t" = "$1" ] && return 0; done
  return 1
}

# version_ok BIN: the binary exists and reports the pinned version.
version_ok() {
  local name=$1 path=$bin_dir/$1 out
  [ -x "$path" ] || return 1
  case $name in
    etcd) out=$("$path" --version 2>/dev/null) || return 1
          grep -q "etcd Version: ${ETCD_VERSION#v}\$" <<<"$out" ;;
    kubectl) out=$("$path" version --client 2>/dev/null) || return 1
          grep -q "Client Version: $K8S_VERSION\$" <<<"$out" ;;
    *) out=$("$path" --version 2>/dev/null) || return 1
       grep -q "Kubernetes $K8S_VERSION\$" <<<"$out" ;;
  esac
}

# verified NAME: version_ok, remembered in a stamp file next to the binary so
# repeated runs don't start a 120 MB binary (about 1 s on a loaded machine).
verified() {
  local name=$1 stamp=$bin_dir/.$1.verified want
  want="$name ${K8S_VERSION} ${ETCD_VERSION}"
  if [ -x "$bin_dir/$name" ] && [ "$stamp" -nt "$bin_dir/$name" ] && [ "$(cat "$stamp" 2>/dev/null)" = "$want" ]; then
    return 0
  fi
  version_ok "$name" || return 1
  echo "$want" >"$stamp.tmp" && mv -f "$stamp.tmp" "$stamp"
}

# install_bin NAME BUILT: atomically move a freshly built binary into bin_dir
# and check it, so a half-written binary is never picked up.
install_bin() {
  local name=$1 built=$2
  mv -f "$built" "$bin_dir/$name"
  verified "$name" || { log "$name built but does not report the pinned version"; return 1; }
}

build_etcd() {
  local dir=$src_root/etcd-$ETCD_VERSION
  mkdir -p "$dir"
  if [ ! -f "$dir/go.sum" ]; then
    log "preparing etcd $ETCD_VERSION wrapper module in $dir"
    cat >"$dir/go.mod" <<EOF
module hsfleet.local/envtest-etcd

go 1.25.0

require go.etcd.io/etcd/server/v3 $ETCD_VERSION
EOF
    cat >"$dir/tools.go" <<'EOF'
//go:build tools

package tools

import _ "go.etcd.io/etcd/server/v3"
EOF
    (cd "$dir" && "$GO" mod tidy >&2) || { rm -f "$dir/go.sum"; return 1; }
  fi
  log "building etcd $ETCD_VERSION (about 30 s cold)"
  (cd "$dir" && "$GO" build -tags tools -trimpath -ldflags "-s -w" -o "$bin_dir/.etcd.tmp" go.etcd.io/etcd/server/v3 >&2)
  install_bin etcd "$bin_dir/.etcd.tmp"
}

prepare_k8s_module() {
  local dir=$1
  [ -f "$dir/go.sum" ] && return 0
  log "preparing k8s.io/kubernetes $K8S_VERSION wrapper module in $dir"
  local gomod staging
  staging=$(staging_version)
  # The module's own go.mod, found through the module cache: no host is named.
  gomod=$("$GO" mod download -json "k8s.io/kubernetes@$K8S_VERSION" | sed -n 's/^[[:space:]]*"GoMod": "\(.*\)",\{0,1\}$/\1/p')
  [ -f "$gomod" ] || { log "could not locate go.mod of k8s.io/kubernetes@$K8S_VERSION"; return 1; }
  {
    echo "module hsfleet.local/envtest-k8s"
    echo
    echo "go 1.25.0"
    echo
    echo "require k8s.io/kubernetes $K8S_VERSION"
    echo
    echo "replace ("
    # Every "k8s.io/X => ./staging/..." replace becomes the published module,
    # except the samples, which the proxy does not serve and nothing needs.
    sed -n 's#^[[:space:]]*\(k8s\.io/[a-z0-9.-]*\)[[:space:]]*=>[[:space:]]*\./staging/.*$#\1#p' "$gomod" |
      grep -v -e '^k8s.io/sample-cli-plugin$' -e '^k8s.io/sample-controller$' |
      while read -r m; do echo "	$m => $m $staging"; done
    echo ")"
  } >"$dir/go.mod"
  {
    echo "//go:build tools"
    echo
    echo "package tools"
    echo
    echo "import ("
    local t
    for t in "${known_targets[@]}"; do echo "	_ \"k8s.io/kubernetes/cmd/$t\""; done
    echo ")"
  } >"$dir/tools.go"
  (cd "$dir" && "$GO" mod tidy >&2) || { rm -f "$dir/go.sum"; return 1; }
}

build_k8s() {
  local dir=$src_root/kubernetes-$K8S_VERSION
  mkdir -p "$dir"
  prepare_k8s_module "$dir"
  local major minor commit ldflags pkg t
  read -r major minor < <(k8s_major_minor)
  commit=$(sed -n 's/.*"Origin".*"Hash": *"\([0-9a-f]*\)".*/\1/p' "$("$GO" env GOMODCACHE)/cache/download/k8s.io/kubernetes/@v/$K8S_VERSION.info" 2>/dev/null || true)
  ldflags="-s -w"
  for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
    ldflags+=" -X $pkg.gitVersion=$K8S_VERSION -X $pkg.gitMajor=$major -X $pkg.gitMinor=$minor"
    ldflags+=" -X $pkg.gitTreeState=clean -X $pkg.buildDate=1970-01-01T00:00:00Z"
    [ -n "$commit" ] && ldflags+=" -X $pkg.gitCommit=$commit"
  done
  for t in "$@"; do
    log "building $t $K8S_VERSION (kube-apiserver is about 5 min cold)"
    (cd "$dir" && "$GO" build -tags tools -trimpath -ldflags "$ldflags" -o "$bin_dir/.$t.tmp" "k8s.io/kubernetes/cmd/$t" >&2)
    install_bin "$t" "$bin_dir/.$t.tmp"
  done
}

main() {
  local wanted=(etcd kube-apiserver) t
  # shellcheck disable=SC2206 # word splitting of the env list is intended
  local extra=("$@" ${K8S_EXTRA_TARGETS:-})
  for t in "${extra[@]}"; do
    is_known_target "$t" || { log "unknown target '$t' (known: ${known_targets[*]})"; return 2; }
    [[ " ${wanted[*]} " == *" $t "* ]] || wanted+=("$t")
  done

  # Fast path without the lock: a caller building extra targets must not
  # hold up `make test` runs that only need what is already cached.
  local all_ok=1
  for t in "${wanted[@]}"; do verified "$t" || { all_ok=0; break; }; done
  if [ "$all_ok" = 1 ]; then
    echo "$bin_dir"
    return 0
  fi

  mkdir -p "$bin_dir" "$src_root"
  # Serialise concurrent builders on one lock; whoever waited re-checks below.
  exec 9>"$CACHE/k8s/.lock"
  flock 9

  local missing_k8s=()
  for t in "${wanted[@]}"; do
    verified "$t" && continue
    if [ "$t" = etcd ]; then build_etcd; else missing_k8s+=("$t"); fi
  done
  if [ ${#missing_k8s[@]} -gt 0 ]; then build_k8s "${missing_k8s[@]}"; fi
  echo "$bin_dir"
}

main "$@"
