# Shared settings and helpers for up.sh, down.sh, status.sh (sourced).
# The node runs inside network namespace $NETNS; every non-loopback address
# below exists only inside it.
set -euo pipefail
LC_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
CACHE=${CACHE:-$LC_ROOT/.cache}
K8S_VERSION=${K8S_VERSION:-v1.37.2}
NETNS=${HSFLEET_NETNS:-hsnode}
NODE_NAME=hsnode
NODE_IP=10.200.0.1
POD_CIDR=10.244.0.0/24
CLUSTER_CIDR=10.244.0.0/16
SERVICE_CIDR=10.96.0.0/24
KUBERNETES_SVC_IP=10.96.0.1
# Runtime state, removed by down.sh. One local cluster per host: kubelet and
# containerd hard-code some host paths.
STATE=${HSFLEET_CLUSTER_STATE:-/var/lib/hsfleet-local-cluster}
# Every path below hangs off STATE: refuse anything but an absolute,
# non-root directory, so a bad value can never scatter files over /.
case $STATE in /?*) ;; *) echo "local-cluster: HSFLEET_CLUSTER_STATE must be an absolute directory, not '$STATE'" >&2; exit 2 ;; esac
PKI=$STATE/pki
LOGS=$STATE/logs
PIDS=$STATE/pids
KUBECONFIG_ADMIN=$STATE/admin.kubeconfig
CONTAINERD_SOCK=$STATE/containerd/containerd.sock
PAUSE_IMAGE=${PAUSE_IMAGE:-hsfleet.local/pause:3.10}
PG_PORT=5432
# Start order; down.sh stops them in reverse.
COMPONENTS=(postgres etcd kube-apiserver kube-controller-manager kube-scheduler containerd coredns kubelet kube-proxy)

lc_log() { printf '%s local-cluster: %s\n' "$(date -u +%H:%M:%S)" "$*" >&2; }
lc_die() { lc_log "ERROR: $*"; exit 1; }

# in_node runs a short-lived client in the node's network namespace.
in_node() { ip netns exec "$NETNS" "$@"; }

# kctl is kubectl against the local cluster, from inside the namespace.
kctl() { in_node "$LC_BIN/kubectl" --kubeconfig "$KUBECONFIG_ADMIN" "$@"; }

lc_bin_dir() { echo "$CACHE/k8s/$K8S_VERSION/bin"; }
LC_BIN=$(lc_bin_dir)

# pid_alive NAME: the recorded PID of component NAME is running.
pid_alive() {
  local f=$PIDS/$1.pid
  [ -f "$f" ] && kill -0 "$(cat "$f")" 2>/dev/null
}

# wait_for DESC SECONDS CMD...: poll CMD every second until it succeeds.
wait_for() {
  local desc=$1 timeout=$2 i
  shift 2
  for ((i = 0; i < timeout; i++)); do
    if "$@" >/dev/null 2>&1; then return 0; fi
    sleep 1
  done
  lc_log "timed out after ${timeout}s waiting for $desc"
  return 1
}
