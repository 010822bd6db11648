#!/usr/bin/env bash
# Brings up a single-node Kubernetes cluster built from source, without
# Docker: etcd, kube-apiserver, kube-controller-manager, kube-scheduler,
# containerd, kubelet, kube-proxy and CoreDNS run as host processes inside a
# network namespace this script creates, plus a throwaway PostgreSQL for the
# hsfleet chart. Images are imported from tarballs (no registry is reachable).
#
#   hack/local-cluster/up.sh        # then: hack/local-cluster/status.sh
#   hack/local-cluster/down.sh      # removes everything again
#
# Prints the admin kubeconfig path on stdout. Clients must run in the node's
# namespace: `ip netns exec hsnode kubectl --kubeconfig "$(...)" get nodes`.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
source "$(dirname "${BASH_SOURCE[0]}")/certs.sh"
[ "$(id -u)" = 0 ] || lc_die "must run as root (network namespace, containerd, kubelet)"
t0=$SECONDS

install_packages() {
  local need=() p
  command -v containerd >/dev/null || need+=(containerd)
  command -v runc >/dev/null || need+=(runc)
  [ -x /usr/lib/cni/bridge ] || need+=(containernetworking-plugins)
  command -v iptables >/dev/null || need+=(iptables)
  command -v conntrack >/dev/null || need+=(conntrack)
  command -v socat >/dev/null || need+=(socat)
  command -v ethtool >/dev/null || need+=(ethtool)
  command -v ip >/dev/null || need+=(iproute2)
  command -v nsenter >/dev/null || need+=(util-linux)
  command -v openssl >/dev/null || need+=(openssl)
  ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || need+=(postgresql)
  if [ ${#need[@]} -gt 0 ]; then
    lc_log "apt-get install ${need[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
  fi
  for p in /usr/sbin/runc /usr/lib/cni/bridge /usr/lib/cni/host-local /usr/lib/cni/loopback /usr/lib/cni/portmap; do
    [ -x "$p" ] || lc_die "$p is missing after apt-get install"
  done
  id postgres >/dev/null 2>&1 || useradd --system --no-create-home postgres
}

# remember_host_state records which host paths existed before, so down.sh
# removes only what this cluster created.
remember_host_state() {
  local f=$STATE/host-before
  [ -f "$f" ] && return 0
  {
    for p in /var/log/pods /var/log/containers /var/lib/kubelet /run/containerd /var/lib/cni /run/netns /etc/cni /opt/containerd; do
      [ -e "$p" ] && echo "exists $p"
    done
    grep -q ' /run/netns ' /proc/self/mountinfo && echo "mounted /run/netns"
    ls /run/netns 2>/dev/null | sed 's/^/netns /'
  } >"$f" || true
}

make_netns() {
  if ! ip netns list | grep -qw "$NETNS"; then
    ip netns add "$NETNS"
  fi
  ip -n "$NETNS" link set lo up
  ip -n "$NETNS" addr replace "$NODE_IP/32" dev lo
  in_node sysctl -qw net.ipv4.ip_forward=1
  in_node sysctl -qw net.ipv4.conf.all.route_localnet=1
}

# start NAME CMD...: run a daemon in the node's network namespace (nsenter
# keeps the host mount namespace, so kubelet sees the cgroup mounts) and
# record its PID for down.sh.
start() {
  local name=$1
  shift
  if pid_alive "$name"; then return 0; fi
  nsenter --net="/run/netns/$NETNS" -- "$@" >"$LOGS/$name.log" 2>&1 &
  record_pid "$name" $!
  lc_log "started $name (pid $!)"
}

check_alive() {
  pid_alive "$1" || { tail -n 30 "$LOGS/$1.log" >&2; lc_die "$1 exited; see $LOGS/$1.log"; }
}

start_postgres() {
  local pgbin data=$STATE/postgres
  pgbin=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n1)
  if [ ! -f "$data/PG_VERSION" ]; then
    mkdir -p "$data" "$STATE/pgsock"
    chown postgres "$data" "$STATE/pgsock"
    chmod 700 "$data"
    openssl rand -hex 16 >"$STATE/pg-password"
    chmod 600 "$STATE/pg-password"
    runuser -u postgres -- "$pgbin/initdb" -D "$data" -U postgres --auth-local=trust --auth-host=scram-sha-256 >"$LOGS/initdb.log" 2>&1
    cat >>"$data/pg_hba.conf" <<HBA
host all all $CLUSTER_CIDR scram-sha-256
host all all $NODE_IP/32 scram-sha-256
HBA
  fi
  # setpriv execs (runuser would fork), so the recorded PID is the postmaster.
  start postgres setpriv --reuid=postgres --regid=postgres --init-groups -- "$pgbin/postgres" -D "$data" -c "listen_addresses=$NODE_IP" \
    -p "$PG_PORT" -c "unix_socket_directories=$STATE/pgsock" -c max_connections=200 -c fsync=off
  wait_for postgres 30 runuser -u postgres -- "$pgbin/pg_isready" -h "$STATE/pgsock" -p "$PG_PORT" || check_alive postgres
  local pw
  pw=$(cat "$STATE/pg-password")
  runuser -u postgres -- "$pgbin/psql" -h "$STATE/pgsock" -p "$PG_PORT" -qAt -v ON_ERROR_STOP=1 <<SQL >/dev/null
SELECT 'CREATE ROLE hsfleet LOGIN' WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'hsfleet')\gexec
ALTER ROLE hsfleet PASSWORD '$pw';
SELECT 'CREATE DATABASE hsfleet OWNER hsfleet' WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = 'hsfleet')\gexec
SQL
  echo "postgres://hsfleet:$pw@$NODE_IP:$PG_PORT/hsfleet?sslmode=disable" >"$STATE/database.dsn"
  chmod 600 "$STATE/database.dsn"
}

start_control_plane() {
  start etcd "$LC_BIN/etcd" --name hsnode --data-dir "$STATE/etcd" \
    --listen-client-urls http://127.0.0.1:2379 --advertise-client-urls http://127.0.0.1:2379 \
    --listen-peer-urls http://127.0.0.1:2380 --initial-advertise-peer-urls http://127.0.0.1:2380 \
    --initial-cluster hsnode=http://127.0.0.1:2380 --quota-backend-bytes 1073741824 --log-level warn
  start kube-apiserver "$LC_BIN/kube-apiserver" \
    --advertise-address="$NODE_IP" --bind-address=0.0.0.0 --secure-port=6443 \
    --etcd-servers=http://127.0.0.1:2379 \
    --service-cluster-ip-range="$SERVICE_CIDR" \
    --client-ca-file="$PKI/ca.crt" --tls-cert-file="$PKI/apiserver.crt" --tls-private-key-file="$PKI/apiserver.key" \
    --kubelet-client-certificate="$PKI/apiserver-kubelet-client.crt" --kubelet-client-key="$PKI/apiserver-kubelet-client.key" \
    --kubelet-preferred-address-types=InternalIP,Hostname \
    --service-account-key-file="$PKI/sa.pub" --service-account-signing-key-file="$PKI/sa.key" \
    --service-account-issuer=https://kubernetes.default.svc.cluster.local \
    --authorization-mode=Node,RBAC --enable-admission-plugins=NodeRestriction \
    --profiling=false --v=1
  wait_for kube-apiserver 90 kctl get --raw /readyz || check_alive kube-apiserver
  start kube-controller-manager "$LC_BIN/kube-controller-manager" \
    --kubeconfig="$STATE/controller-manager.kubeconfig" \
    --authentication-kubeconfig="$STATE/controller-manager.kubeconfig" \
    --authorization-kubeconfig="$STATE/controller-manager.kubeconfig" \
    --bind-address=127.0.0.1 --leader-elect=false --use-service-account-credentials=true \
    --service-account-private-key-file="$PKI/sa.key" --root-ca-file="$PKI/ca.crt" \
    --cluster-signing-cert-file="$PKI/ca.crt" --cluster-signing-key-file="$PKI/ca.key" \
    --v=1
  start kube-scheduler "$LC_BIN/kube-scheduler" \
    --kubeconfig="$STATE/scheduler.kubeconfig" \
    --authentication-kubeconfig="$STATE/scheduler.kubeconfig" \
    --authorization-kubeconfig="$STATE/scheduler.kubeconfig" \
    --bind-address=127.0.0.1 --leader-elect=false --v=1
}

start_containerd() {
  mkdir -p "$STATE/containerd" "$STATE/cni/net.d" "$STATE/cni/ipam"
  cat >"$STATE/containerd/config.toml" <<TOML
version = 2
root = "$STATE/containerd/root"
state = "$STATE/containerd/state"
disabled_plugins = ["io.containerd.internal.v1.tracing", "io.containerd.snapshotter.v1.aufs", "io.containerd.snapshotter.v1.btrfs", "io.containerd.snapshotter.v1.zfs", "io.containerd.snapshotter.v1.devmapper"]
[grpc]
  address = "$CONTAINERD_SOCK"
# The opt plugin would otherwise create /opt/containerd on the host.
[plugins."io.containerd.internal.v1.opt"]
  path = "$STATE/containerd/opt"
[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "$PAUSE_IMAGE"
  # This VM withholds CAP_SYS_RESOURCE: without this runc fails every sandbox.
  restrict_oom_score_adj = true
  enable_selinux = false
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        BinaryName = "/usr/sbin/runc"
        SystemdCgroup = false
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "/usr/lib/cni"
    conf_dir = "$STATE/cni/net.d"
TOML
  cat >"$STATE/cni/net.d/10-hsnode.conflist" <<JSON
{
  "cniVersion": "1.0.0",
  "name": "hsnode",
  "plugins": [
    {
      "type": "bridge", "bridge": "cni0", "isGateway": true, "ipMasq": false, "hairpinMode": true,
      "ipam": {"type": "host-local", "dataDir": "$STATE/cni/ipam", "ranges": [[{"subnet": "$POD_CIDR"}]], "routes": [{"dst": "0.0.0.0/0"}]}
    },
    {"type": "portmap", "capabilities": {"portMappings": true}}
  ]
}
JSON
  start containerd containerd --config "$STATE/containerd/config.toml"
  wait_for containerd 30 ctr --address "$CONTAINERD_SOCK" version || check_alive containerd
}

import_images() {
  local tar
  for tar in "$LC_ROOT/dist/pause-image.tar" "$LC_ROOT/dist/hsfleet-image.tar"; do
    ctr --address "$CONTAINERD_SOCK" -n k8s.io images import --no-unpack=false "$tar" >"$LOGS/import-$(basename "$tar").log" 2>&1 ||
      { cat "$LOGS/import-$(basename "$tar").log" >&2; lc_die "import $tar"; }
  done
  lc_log "imported: $(ctr --address "$CONTAINERD_SOCK" -n k8s.io images ls -q | tr '\n' ' ')"
}

node_ready() {
  [ "$(kctl get node "$NODE_NAME" -o jsonpath='{.status.conditions[?(@.type=="Ready")].status}')" = True ]
}

start_node() {
  printf 'nameserver %s\nsearch cluster.local\noptions ndots:5\n' "$NODE_IP" >"$STATE/resolv.conf"
  cat >"$STATE/kubelet-config.yaml" <<YAML
apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
address: $NODE_IP
port: 10250
readOnlyPort: 0
healthzBindAddress: 127.0.0.1
authentication:
  anonymous: {enabled: false}
  webhook: {enabled: true}
  x509: {clientCAFile: $PKI/ca.crt}
authorization: {mode: Webhook}
tlsCertFile: $PKI/kubelet-serving.crt
tlsPrivateKeyFile: $PKI/kubelet-serving.key
containerRuntimeEndpoint: unix://$CONTAINERD_SOCK
cgroupDriver: cgroupfs
# The host is cgroup v1 (hybrid); 1.37 refuses it unless told otherwise.
failCgroupV1: false
failSwapOn: false
clusterDomain: cluster.local
clusterDNS: [$NODE_IP]
resolvConf: $STATE/resolv.conf
# Imported images cannot be pulled back: never garbage-collect them.
imageGCHighThresholdPercent: 100
imageGCLowThresholdPercent: 99
# Faster pod syncs: ConfigMap volume updates (the trust bundle) land in
# seconds instead of up to a minute.
syncFrequency: 10s
evictionHard: {memory.available: "100Mi", nodefs.available: "1%", nodefs.inodesFree: "1%", imagefs.available: "1%"}
serializeImagePulls: false
maxPods: 60
YAML
  # CoreDNS runs as a node process: no upstream forward, only cluster.local.
  cat >"$STATE/Corefile" <<CORE
.:53 {
    bind $NODE_IP
    errors
    health 127.0.0.1:8088
    kubernetes cluster.local in-addr.arpa ip6.arpa {
        kubeconfig $STATE/coredns.kubeconfig hsfleet-local
        pods insecure
        fallthrough in-addr.arpa ip6.arpa
    }
    cache 30
    reload
}
CORE
  kctl apply -f - >/dev/null <<YAML
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: "system:coredns"}
rules:
  - apiGroups: [""]
    resources: [endpoints, services, pods, namespaces]
    verbs: [list, watch]
  - apiGroups: [discovery.k8s.io]
    resources: [endpointslices]
    verbs: [list, watch]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: "system:coredns"}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: "system:coredns"}
subjects: [{kind: User, name: coredns, apiGroup: rbac.authorization.k8s.io}]
YAML
  start coredns "$LC_BIN/coredns" -conf "$STATE/Corefile"
  start kubelet "$LC_BIN/kubelet" --config="$STATE/kubelet-config.yaml" \
    --kubeconfig="$STATE/kubelet.kubeconfig" --hostname-override="$NODE_NAME" --node-ip="$NODE_IP" \
    --root-dir="$STATE/kubelet" --v=1
  start kube-proxy "$LC_BIN/kube-proxy" --kubeconfig="$STATE/kube-proxy.kubeconfig" \
    --hostname-override="$NODE_NAME" --cluster-cidr="$CLUSTER_CIDR" --proxy-mode=iptables \
    --masquerade-all=true --conntrack-max-per-core=0 --metrics-bind-address=127.0.0.1:10249 \
    --healthz-bind-address=127.0.0.1:10256 --v=1
  wait_for "node $NODE_NAME Ready" 120 node_ready ||
    { check_alive kubelet; lc_die "node never became Ready; see $LOGS/kubelet.log"; }
  wait_for "default ServiceAccount" 60 kctl -n default get serviceaccount default
}

main() {
  install_packages
  lc_log "building binaries (cached; cold build takes ~10 min)"
  LC_BIN=$("$LC_ROOT/hack/local-cluster/build.sh")
  [ -f "$LC_ROOT/dist/hsfleet-image.tar" ] && [ -z "${REBUILD_IMAGE:-}" ] || "$LC_ROOT/hack/image-tar.sh" >&2
  [ -f "$LC_ROOT/dist/pause-image.tar" ] || "$LC_ROOT/hack/image-tar.sh" pause >&2
  mkdir -p "$STATE" "$LOGS" "$PIDS"
  chmod 711 "$STATE"
  remember_host_state
  lc_log "prepared in $((SECONDS - t0))s"
  make_netns
  make_certs
  kubeconfig admin admin
  kubeconfig controller-manager controller-manager
  kubeconfig scheduler scheduler
  kubeconfig kube-proxy kube-proxy
  kubeconfig kubelet kubelet-client
  kubeconfig coredns coredns
  start_postgres
  start_control_plane
  start_containerd
  import_images
  start_node
  lc_log "cluster up in $((SECONDS - t0))s; kubeconfig $KUBECONFIG_ADMIN; database DSN in $STATE/database.dsn"
  echo "$KUBECONFIG_ADMIN"
}

# Sourcing (for debugging one step) defines the functions without running.
if [ "${BASH_SOURCE[0]}" = "$0" ]; then main "$@"; fi
