# Shared settings of the local real cluster scripts (sourced, not run).
# shellcheck shell=bash
CACHE="${CUSTOS_CACHE:-$HOME/.cache/custos}"
BIN="$CACHE/bin"
IMAGES="$CACHE/images"

KUBE_VERSION="${KUBE_VERSION:-v1.30.4}"
ETCD_VERSION="${ETCD_VERSION:-v3.5.11}"
HELM_VERSION="${HELM_VERSION:-v3.19.5}"
COREDNS_VERSION="${COREDNS_VERSION:-v1.11.3}"
KUBE_ROUTER_VERSION="${KUBE_ROUTER_VERSION:-v2.1.0}"
LOCAL_PATH_VERSION="${LOCAL_PATH_VERSION:-v0.0.30}"
CERT_MANAGER_VERSION="${CERT_MANAGER_VERSION:-v1.21.2}"

# Images built here; "custos.local" is a name no registry answers for, so nothing can be pulled.
PAUSE_IMAGE="custos.local/pause:3.9-custos1"
BUSYBOX_IMAGE="custos.local/busybox:1.35.0"
COREDNS_IMAGE="custos.local/coredns:$COREDNS_VERSION"

log() { printf '[hack/kube %s] %s\n' "$(date -u +%H:%M:%S)" "$*"; }
die() {
  printf 'hack/kube: %s\n' "$*" >&2
  exit 1
}
image_tar() { printf '%s/%s.tar' "$IMAGES" "${1//[\/:]/_}"; }

# Layout of a running cluster. Everything a start creates lives under $KUBE_HOME (configuration,
# PKI, logs, fresh etcd/containerd/kubelet state) or $KUBE_RUN (sockets, pid files: short paths,
# because unix socket paths are limited to 108 bytes). One cluster per machine: the bridge,
# its address and the containerd socket are machine-wide.
CUSTOS_HOME="${CUSTOS_HOME:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)/.custos}"
KUBE_HOME="$CUSTOS_HOME/kube"
KUBE_STATE="$KUBE_HOME/state"
KUBE_RUN=/run/custos-kube
KUBECONFIG_PATH="$KUBE_HOME/kubeconfig"
CONTAINERD_SOCK="$KUBE_RUN/containerd.sock"

NODE_NAME=custos-node
BRIDGE=custos0
# The bridge address is the node address: the API server, kubelet and kube-proxy listen only
# there (and on loopback), never on the machine's outside interfaces.
NODE_IP=10.244.0.1
POD_CIDR=10.244.0.0/16
NODE_POD_RANGE=10.244.0.0/24
SERVICE_CIDR=10.96.0.0/16
APISERVER_SERVICE_IP=10.96.0.1
DNS_SERVICE_IP=10.96.0.10
ETCD_CLIENT_PORT=12379
ETCD_PEER_PORT=12380

ctr_k8s() { ctr --address "$CONTAINERD_SOCK" --namespace k8s.io "$@"; }
