#!/usr/bin/env bash
# Shows the local cluster: component PIDs, the node and every pod.
# Exits 0 when every component runs and the node is Ready, 1 otherwise.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
[ -d "$STATE" ] || { echo "local cluster: down"; exit 1; }
rc=0
for name in "${COMPONENTS[@]}"; do
  if pid_alive "$name"; then
    printf '%-24s running (pid %s)\n' "$name" "$(cat "$PIDS/$name.pid")"
  else
    printf '%-24s NOT RUNNING (log: %s)\n' "$name" "$LOGS/$name.log"
    rc=1
  fi
done
echo "kubeconfig: $KUBECONFIG_ADMIN (use from the namespace: ip netns exec $NETNS kubectl --kubeconfig ...)"
if pid_alive kube-apiserver; then
  kctl get nodes -o wide || rc=1
  kctl get pods -A -o wide || rc=1
  [ "$(kctl get node "$NODE_NAME" -o jsonpath='{.status.conditions[?(@.type=="Ready")].status}' 2>/dev/null)" = True ] || rc=1
fi
exit $rc
