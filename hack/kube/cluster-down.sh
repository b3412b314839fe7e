#!/usr/bin/env bash
# Stops the local real cluster (make cluster-down) and leaves nothing behind on the machine: no
# processes (host components, containerd shims, containers), no mounts, no network namespaces,
# veths or bridge, no iptables rules or ipsets of its own. State under $CUSTOS_HOME/kube/state is
# removed too; the kubeconfig and logs stay for inspection until the next start.
set -euo pipefail
cd "$(dirname "$0")/../.."
source hack/kube/lib.sh

[[ $(id -u) == 0 ]] || die "cluster-down must run as root"
if [[ -f $KUBE_RUN/owner && $(cat "$KUBE_RUN/owner") != "$KUBE_HOME" ]]; then
  die "the running cluster was started from $(cat "$KUBE_RUN/owner"); stop it from there"
fi
START=$SECONDS
KUBECTL=("$KUBE_HOME/bin/kubectl" --kubeconfig "$KUBECONFIG_PATH" --request-timeout 10s)

pid_of() { [[ -f $KUBE_RUN/$1.pid ]] && cat "$KUBE_RUN/$1.pid"; }
stop() { # name: SIGTERM, then SIGKILL after 15 s
  local pid
  pid=$(pid_of "$1") || return 0
  if kill -0 "$pid" 2>/dev/null; then
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 30); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
    kill -KILL "$pid" 2>/dev/null || true
  fi
  rm -f "$KUBE_RUN/$1.pid"
}
tasks() { ctr_k8s tasks ls -q 2>/dev/null || true; }

# 1. With nothing left to recreate them, let the kubelet stop every pod through the CRI, which
# also removes their network namespaces and veths via the CNI plugins.
stop kube-controller-manager
stop kube-scheduler
stop cert-manager-controller
stop local-path-provisioner
if [[ -n $(pid_of kubelet) ]] && kill -0 "$(pid_of kubelet)" 2>/dev/null &&
  "${KUBECTL[@]}" get --raw=/readyz >/dev/null 2>&1; then
  log "stopping pods"
  "${KUBECTL[@]}" delete pods --all-namespaces --all --grace-period 0 --force --wait=false >/dev/null 2>&1 || true
  for _ in $(seq 60); do [[ -z $(tasks) ]] && break; sleep 0.5; done
fi
for name in kubelet kube-router kube-proxy kube-apiserver etcd; do stop "$name"; done
log "components stopped ($((SECONDS - START))s)"

# 2. Whatever the kubelet did not stop: kill the tasks, then any shim of this containerd.
if [[ -S $CONTAINERD_SOCK ]]; then
  for id in $(tasks); do ctr_k8s tasks kill -s SIGKILL "$id" >/dev/null 2>&1 || true; done
  for _ in $(seq 20); do
    left=0
    for id in $(tasks); do ctr_k8s tasks delete -f "$id" >/dev/null 2>&1 || left=1; done
    ((left == 0)) && break
    sleep 0.5
  done
fi
stop containerd
for cmdline in /proc/[0-9]*/cmdline; do
  pid=${cmdline#/proc/}
  pid=${pid%/cmdline}
  if { tr '\0' ' ' <"$cmdline"; } 2>/dev/null | grep -q -- "-address $CONTAINERD_SOCK "; then
    kill -KILL "$pid" 2>/dev/null || true
  fi
done

# 3. Mounts under the cluster's directories (deepest first).
for dir in "$KUBE_STATE" "$KUBE_RUN"; do
  awk -v d="$dir/" 'index($2, d) == 1 {print $2}' /proc/self/mounts | sort -r | while read -r m; do
    umount "$m" 2>/dev/null || umount -l "$m" 2>/dev/null || true
  done
done

# 4. Network namespaces holding a pod address, veths on the bridge, the bridge.
for ns in $(ip netns list 2>/dev/null | awk '/^cni-/{print $1}'); do
  if ip netns exec "$ns" ip -4 -o addr show 2>/dev/null | grep -q " ${NODE_POD_RANGE%.*}\."; then
    ip netns delete "$ns" 2>/dev/null || true
  fi
done
for veth in $(ip -o link show master "$BRIDGE" 2>/dev/null | awk -F': ' '{print $2}' | cut -d@ -f1); do
  ip link delete "$veth" 2>/dev/null || true
done
ip link delete "$BRIDGE" 2>/dev/null || true

# 5. iptables and ipsets. Only Kubernetes components name chains KUBE-*: the kubelet (canaries,
# KUBE-FIREWALL), kube-proxy and kube-router's firewall. Remove the jumps into them, then the
# chains, in every table, for IPv4 and IPv6. (kube-router's own --cleanup-config would also flush
# every IPVS table on the machine, so it is not used.) Then kube-router's ipsets and the guard.
"$BIN/kube-proxy-$KUBE_VERSION" --cleanup >/dev/null 2>&1 || true
for ipt in iptables ip6tables; do
  for table in filter nat mangle raw; do
    $ipt -w -t "$table" -S 2>/dev/null | awk '$1 == "-A" && $2 !~ /^KUBE-/ && / -j KUBE-/' |
      while read -r rule; do eval "$ipt -w -t $table ${rule/-A /-D }" 2>/dev/null || true; done
    chains=$($ipt -w -t "$table" -S 2>/dev/null | awk '$1 == "-N" && $2 ~ /^KUBE-/ {print $2}')
    for c in $chains; do $ipt -w -t "$table" -F "$c" 2>/dev/null || true; done
    for c in $chains; do $ipt -w -t "$table" -X "$c" 2>/dev/null || true; done
  done
done
for set in $(ipset list -n 2>/dev/null | grep -E '^(KUBE-|kube-router-)' || true); do
  ipset destroy "$set" 2>/dev/null || true
done
bash hack/kube/pod-egress-guard.sh remove

# 6. The kubelet's pod cgroups (empty once every container is gone).
for root in /sys/fs/cgroup/*/kubepods /sys/fs/cgroup/kubepods; do
  [[ -d $root ]] && find "$root" -depth -type d -exec rmdir {} + 2>/dev/null || true
done

log "network and cgroups cleaned ($((SECONDS - START))s)"
rm -rf "$KUBE_STATE" "$KUBE_RUN"
# The image builds' Docker daemon (make images) goes too; the next build starts it again in seconds.
bash hack/images/docker-down.sh
log "cluster down ($((SECONDS - START))s)"
