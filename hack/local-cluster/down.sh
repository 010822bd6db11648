#!/usr/bin/env bash
# Tears the local cluster down: removes the pods' containers and sandboxes,
# stops every component by its recorded PID in reverse start order, then
# removes what the components touched on the host (pod netns, cgroups, mounts,
# log and runtime dirs) and the network namespace (which takes cni0, the veths
# and every KUBE-/CNI- iptables chain with it). Safe to run twice.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
[ "$(id -u)" = 0 ] || lc_die "must run as root"
t0=$SECONDS
[ -d "$STATE" ] || { lc_log "nothing to tear down ($STATE does not exist)"; exit 0; }
before=$STATE/host-before
existed() { grep -qx "exists $1" "$before" 2>/dev/null; }

# remove_containers kills and deletes every task and container containerd
# runs for Kubernetes, while containerd is still up to do it.
remove_containers() {
  pid_alive containerd || return 0
  local c=(ctr --address "$CONTAINERD_SOCK" -n k8s.io) id
  for id in $("${c[@]}" tasks ls -q 2>/dev/null); do
    "${c[@]}" tasks kill -s SIGKILL "$id" >/dev/null 2>&1 || true
  done
  sleep 1
  for id in $("${c[@]}" tasks ls -q 2>/dev/null); do
    "${c[@]}" tasks delete -f "$id" >/dev/null 2>&1 || true
  done
  for id in $("${c[@]}" containers ls -q 2>/dev/null); do
    "${c[@]}" containers rm "$id" >/dev/null 2>&1 || true
  done
}

# kill_shims stops containerd shims that still serve our containerd (matched
# by our socket path in their command line, by PID).
kill_shims() {
  local p
  for p in /proc/[0-9]*; do
    tr '\0' ' ' 2>/dev/null <"$p/cmdline" | grep -qF -- "-address $CONTAINERD_SOCK" || continue
    kill -KILL "${p#/proc/}" 2>/dev/null || true
  done
}

# unmount_under DIR: every mount below DIR, deepest first.
unmount_under() {
  local dir=$1 m
  awk -v d="$dir" '$5 == d || index($5, d "/") == 1 {print $5}' /proc/self/mountinfo | sort -r |
    while read -r m; do umount -l "$m" 2>/dev/null || true; done
}

remove_pod_netns() {
  local n
  for n in $(ls /run/netns 2>/dev/null); do
    [ "$n" = "$NETNS" ] && continue
    case $n in cni-*) ;; *) continue ;; esac
    grep -qx "netns $n" "$before" 2>/dev/null && continue
    umount "/run/netns/$n" 2>/dev/null || true
    rm -f "/run/netns/$n"
  done
}

remove_cgroups() {
  local ctl
  for ctl in /sys/fs/cgroup/*/; do
    [ -d "$ctl/kubepods" ] || continue
    # Deepest first: a cgroup is removable only once its children are gone.
    find "$ctl/kubepods" -depth -type d -exec rmdir {} + 2>/dev/null || true
  done
  [ -d /sys/fs/cgroup/unified/kubepods ] && find /sys/fs/cgroup/unified/kubepods -depth -type d -exec rmdir {} + 2>/dev/null
  return 0
}

if pid_alive kube-apiserver && pid_alive kubelet; then
  # Let the kubelet stop sandboxes itself (it tears down pod networking).
  kctl delete pods --all -A --grace-period=0 --force --wait=false >/dev/null 2>&1 || true
  sleep 3
fi
for ((i = ${#COMPONENTS[@]} - 1; i >= 0; i--)); do
  name=${COMPONENTS[$i]}
  [ "$name" = containerd ] && remove_containers
  [ "$name" = etcd ] && sleep 1 # the apiserver must be gone before etcd
  stop_component "$name"
done
kill_shims
remove_pod_netns
unmount_under "$STATE"
unmount_under /run/containerd
remove_cgroups

if ip netns list | grep -qw "$NETNS"; then
  ip netns del "$NETNS"
fi
# `ip netns add` leaves /run/netns bind-mounted; undo it if we caused it.
if ! grep -qx "mounted /run/netns" "$before" 2>/dev/null && [ -z "$(ls -A /run/netns 2>/dev/null)" ]; then
  umount /run/netns 2>/dev/null || true
  existed /run/netns || rmdir /run/netns 2>/dev/null || true
fi
for p in /var/log/pods /var/log/containers /var/lib/kubelet /run/containerd /var/lib/cni /etc/cni /opt/containerd; do
  existed "$p" || rm -rf "$p"
done
rm -rf "$STATE"
lc_log "torn down in $((SECONDS - t0))s"
