#!/usr/bin/env bash
# pod-egress-guard.sh add|remove: keeps pod traffic inside the cluster. A chain in the mangle
# table's PREROUTING (before kube-proxy's DNAT, and a table kube-proxy and kube-router leave
# alone) sees every packet a pod sends through the bridge and drops new connections to anything
# but other pods, Service addresses and the API server's port on the node address. Replies to
# connections the host opened (kubelet probes, port-forward) are let through. A last FORWARD rule
# accepts traffic between pods on the bridge that every earlier rule (kube-router's policies
# first) let pass, in case the machine's FORWARD policy is DROP (as Docker sets it).
set -euo pipefail
source "$(dirname "$0")/lib.sh"
CHAIN=CUSTOS-POD-EGRESS
ipt() { iptables -w -t mangle "$@"; }

remove() {
  while iptables -w -C FORWARD -i "$BRIDGE" -o "$BRIDGE" -j ACCEPT 2>/dev/null; do
    iptables -w -D FORWARD -i "$BRIDGE" -o "$BRIDGE" -j ACCEPT
  done
  while ipt -C PREROUTING -i "$BRIDGE" -j "$CHAIN" 2>/dev/null; do
    ipt -D PREROUTING -i "$BRIDGE" -j "$CHAIN"
  done
  if ipt -S "$CHAIN" >/dev/null 2>&1; then
    ipt -F "$CHAIN"
    ipt -X "$CHAIN"
  fi
}

add() {
  remove
  ipt -N "$CHAIN"
  ipt -A "$CHAIN" -m conntrack --ctstate ESTABLISHED,RELATED -j RETURN
  ipt -A "$CHAIN" -d "$NODE_IP/32" -p tcp --dport 6443 -j RETURN
  ipt -A "$CHAIN" -d "$NODE_IP/32" -j DROP
  ipt -A "$CHAIN" -d "$POD_CIDR" -j RETURN
  ipt -A "$CHAIN" -d "$SERVICE_CIDR" -j RETURN
  ipt -A "$CHAIN" -j DROP
  ipt -I PREROUTING 1 -i "$BRIDGE" -j "$CHAIN"
  iptables -w -A FORWARD -i "$BRIDGE" -o "$BRIDGE" -j ACCEPT
}

case "${1:-}" in
  add) add ;;
  remove) remove ;;
  *) die "usage: pod-egress-guard.sh add|remove" ;;
esac
