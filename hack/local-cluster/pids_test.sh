#!/usr/bin/env bash
# Checks lib.sh's PID bookkeeping without root or a cluster: a recorded
# process is recognised and stopped, and a PID that no longer names the
# process we started (reused, or a stale record) is never signalled.
# Run: hack/local-cluster/pids_test.sh
set -euo pipefail
tmp=$(mktemp -d)
children=()
cleanup() {
  local p
  for p in "${children[@]}"; do kill -KILL "$p" 2>/dev/null || true; done
  rm -rf "$tmp"
}
trap cleanup EXIT
export HSFLEET_CLUSTER_STATE=$tmp/state
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
mkdir -p "$PIDS"
fail() { echo "FAIL: $*" >&2; exit 1; }

# A recorded process is ours until it exits.
sleep 60 &
children+=($!)
record_pid etcd $!
pid_alive etcd || fail "a freshly recorded process is not recognised"

# Same PID, other start time: the PID was reused by an unrelated process.
echo 1 >"$PIDS/etcd.start"
pid_alive etcd && fail "a reused PID is taken for the component"
stop_component etcd 2>/dev/null
kill -0 "${children[0]}" 2>/dev/null || fail "stop_component signalled a process it did not start"
[ -f "$PIDS/etcd.pid" ] && fail "the stale record was kept"

# Legacy record without a start time: the executable's name must match.
echo "${children[0]}" >"$PIDS/kubelet.pid"
pid_alive kubelet && fail "a legacy record matched a process running another executable"
stop_component kubelet 2>/dev/null
kill -0 "${children[0]}" 2>/dev/null || fail "a legacy record made stop_component signal another executable"
echo "${children[0]}" >"$PIDS/sleep.pid"
pid_alive sleep || fail "a legacy record of the right executable is not recognised"

# Our own process is stopped.
record_pid etcd "${children[0]}"
stop_component etcd 2>/dev/null
for ((i = 0; i < 50; i++)); do kill -0 "${children[0]}" 2>/dev/null || break; sleep 0.1; done
wait "${children[0]}" 2>/dev/null || true
kill -0 "${children[0]}" 2>/dev/null && fail "stop_component left its own process running"
[ -f "$PIDS/etcd.pid" ] && fail "the record of a stopped process was kept"
echo "PASS: local-cluster PID bookkeeping"
