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

# pid_start_time PID: the kernel's start time of PID (clock ticks since
# boot, field 22 of /proc/PID/stat). PID plus start time names one process
# for good: a PID reused by another process has another start time, and an
# exec (nsenter, setpriv) keeps it.
pid_start_time() {
  local stat rest
  stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
  rest=${stat##*) } # comm may hold spaces and parentheses
  # shellcheck disable=SC2086
  set -- $rest
  [ -n "${20:-}" ] && echo "${20}"
}

# record_pid NAME PID: remember PID as component NAME's process.
record_pid() {
  local start
  start=$(pid_start_time "$2") || start=gone # it already exited
  echo "$2" >"$PIDS/$1.pid"
  echo "$start" >"$PIDS/$1.start"
}

# pid_alive NAME: the recorded PID of component NAME is running and is still
# the process we started, never an unrelated process that reused the PID.
# State written before start times were recorded falls back to the
# executable's name, which is the component's name for every component.
pid_alive() {
  local f=$PIDS/$1.pid pid exe
  [ -f "$f" ] || return 1
  pid=$(cat "$f")
  case $pid in '' | *[!0-9]*) return 1 ;; esac
  kill -0 "$pid" 2>/dev/null || return 1
  if [ -f "$PIDS/$1.start" ]; then
    [ "$(pid_start_time "$pid")" = "$(cat "$PIDS/$1.start")" ]
  else
    exe=$(readlink "/proc/$pid/exe" 2>/dev/null) || return 1
    [ "${exe##*/}" = "$1" ]
  fi
}

# stop_component NAME: SIGTERM the recorded process (SIGINT, "fast
# shutdown", for PostgreSQL), SIGKILL after 15 s; only while it is still the
# process we started. Forgets the record either way.
stop_component() {
  local pid i sig=TERM
  [ -f "$PIDS/$1.pid" ] || return 0
  pid=$(cat "$PIDS/$1.pid")
  [ "$1" = postgres ] && sig=INT
  if pid_alive "$1"; then
    kill -"$sig" "$pid" 2>/dev/null || true
    for ((i = 0; i < 150; i++)); do pid_alive "$1" || break; sleep 0.1; done
    if pid_alive "$1"; then
      lc_log "$1 (pid $pid) ignored SIG$sig; killing"
      kill -KILL "$pid" 2>/dev/null || true
    fi
    lc_log "stopped $1 (pid $pid)"
  elif kill -0 "$pid" 2>/dev/null; then
    lc_log "pid $pid recorded for $1 now belongs to another process; not signalling it"
  fi
  rm -f "$PIDS/$1.pid" "$PIDS/$1.start"
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
