#!/usr/bin/env bash
# Starts the local real single-node cluster (make cluster-up): etcd, kube-apiserver,
# kube-controller-manager, kube-scheduler, containerd + runc, kubelet, kube-proxy (iptables),
# kube-router (NetworkPolicy firewall only), CoreDNS, local-path-provisioner and the cert-manager
# controller. Builds what is missing first. State is fresh on every start; the admin kubeconfig is
# $CUSTOS_HOME/kube/kubeconfig and kubectl/helm are in $CUSTOS_HOME/kube/bin. Must run as root.
#
# Network containment: the node address is the bridge's own address (no listener on the
# machine's outside interfaces), the bridge CNI does no masquerade, CoreDNS forwards nothing, and a
# mangle-table guard drops any new connection from a pod to an address outside the pod and
# service ranges, so pods reach only each other, the Services and the API server.
set -euo pipefail
cd "$(dirname "$0")/../.."
source hack/kube/lib.sh

[[ $(id -u) == 0 ]] || die "cluster-up must run as root (containerd, kubelet, iptables)"
START=$SECONDS
step() { log "$* (+$((SECONDS - START))s)"; }

if [[ -f $KUBE_RUN/owner ]]; then
  owner=$(cat "$KUBE_RUN/owner")
  if [[ $owner != "$KUBE_HOME" ]]; then
    die "a cluster started from $owner is running; stop it there (make cluster-down) first"
  fi
  if KUBECONFIG="$KUBECONFIG_PATH" "$BIN/kubectl" get --raw=/readyz >/dev/null 2>&1; then
    log "the cluster is already up"
    echo "export KUBECONFIG=$KUBECONFIG_PATH"
    exit 0
  fi
  log "a previous start did not finish or the cluster died: stopping it first"
  bash hack/kube/cluster-down.sh
fi

# 1. Build what is missing (each step is a no-op when cached).
bash hack/setup.d/30-kube-node.sh >/dev/null
nice -n 5 bash hack/kube/build.sh | { grep -v ' cached$' || true; }
nice -n 5 bash hack/kube/build-cluster.sh | { grep -v ' cached$' || true; }
step "binaries and images ready"

# 2. Fresh directories.
rm -rf "$KUBE_STATE" "$KUBE_HOME/pki" "$KUBE_HOME/config" "$KUBE_HOME/logs"
mkdir -p "$KUBE_STATE" "$KUBE_HOME/pki" "$KUBE_HOME/config" "$KUBE_HOME/logs" "$KUBE_HOME/bin" "$KUBE_RUN"
echo "$KUBE_HOME" >"$KUBE_RUN/owner"
PKI="$KUBE_HOME/pki"
CFG="$KUBE_HOME/config"
LOGS="$KUBE_HOME/logs"
ln -sfn "$BIN/kubectl-$KUBE_VERSION" "$KUBE_HOME/bin/kubectl"
ln -sfn "$BIN/helm-$HELM_VERSION" "$KUBE_HOME/bin/helm"
KUBECTL=("$KUBE_HOME/bin/kubectl" --kubeconfig "$KUBECONFIG_PATH")

# 3. PKI: one CA; serving certificates for the API server and kubelet; client certificates for
# the kubelet (system:node, checked by the Node authorizer) and for the admin (system:masters,
# shared by the host-run components: this is a throwaway single-user test cluster).
openssl_leaf() { # name subject extensions
  local name=$1 subj=$2 ext=$3
  printf '%b' "$ext" >"$PKI/$name.ext"
  openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$PKI/$name.key" \
    -out "$PKI/$name.csr" -subj "$subj" 2>/dev/null
  openssl x509 -req -in "$PKI/$name.csr" -CA "$PKI/ca.crt" -CAkey "$PKI/ca.key" -CAcreateserial \
    -out "$PKI/$name.crt" -days 30 -extfile "$PKI/$name.ext" 2>/dev/null
}
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$PKI/ca.key" \
  -out "$PKI/ca.crt" -days 30 -subj /CN=custos-local-cluster-ca 2>/dev/null
openssl_leaf apiserver /CN=kube-apiserver \
  "subjectAltName=IP:$NODE_IP,IP:$APISERVER_SERVICE_IP,IP:127.0.0.1,DNS:localhost,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.cluster.local\nextendedKeyUsage=serverAuth\n"
openssl_leaf kubelet-serving "/CN=$NODE_NAME" "subjectAltName=IP:$NODE_IP,DNS:$NODE_NAME\nextendedKeyUsage=serverAuth\n"
openssl_leaf kubelet "/O=system:nodes/CN=system:node:$NODE_NAME" 'extendedKeyUsage=clientAuth\n'
openssl_leaf admin /O=system:masters/CN=custos-admin 'extendedKeyUsage=clientAuth\n'
openssl genrsa -out "$PKI/sa.key" 2048 2>/dev/null
openssl rsa -in "$PKI/sa.key" -pubout -out "$PKI/sa.pub" 2>/dev/null
chmod 600 "$PKI"/*.key

write_kubeconfig() { # path cert-name
  local b64
  b64() { base64 -w0 "$PKI/$1"; }
  cat >"$1" <<KC
apiVersion: v1
kind: Config
clusters:
- name: custos-local
  cluster:
    server: https://$NODE_IP:6443
    certificate-authority-data: $(b64 ca.crt)
users:
- name: $2
  user:
    client-certificate-data: $(b64 "$2.crt")
    client-key-data: $(b64 "$2.key")
contexts:
- name: custos-local
  context: {cluster: custos-local, user: $2, namespace: default}
current-context: custos-local
KC
  chmod 600 "$1"
}
write_kubeconfig "$KUBECONFIG_PATH" admin
write_kubeconfig "$CFG/kubelet.kubeconfig" kubelet
step "PKI and kubeconfigs written"

# 4. Host networking: the bridge pods attach to, forwarding, and the containment guard.
sysctl -qw net.ipv4.ip_forward=1
if ! ip link show "$BRIDGE" >/dev/null 2>&1; then
  ip link add "$BRIDGE" type bridge
fi
ip addr replace "$NODE_IP/24" dev "$BRIDGE"
ip link set "$BRIDGE" up
# Service traffic between pods on the same bridge must pass iptables (kube-proxy's DNAT).
sysctl -qw net.bridge.bridge-nf-call-iptables=1
bash hack/kube/pod-egress-guard.sh add

start_daemon() { # name command...: detached, logging to $LOGS/name.log, pid in $KUBE_RUN
  local name=$1
  shift
  setsid "$@" >>"$LOGS/$name.log" 2>&1 </dev/null &
  echo $! >"$KUBE_RUN/$name.pid"
}
wait_for() { # description seconds command...
  local what=$1 deadline=$((SECONDS + $2))
  shift 2
  until "$@" >/dev/null 2>&1; do
    ((SECONDS < deadline)) || die "timed out waiting for $what (logs: $LOGS)"
    sleep 0.5
  done
}
alive() { kill -0 "$(cat "$KUBE_RUN/$1.pid")" 2>/dev/null; }

# 5. Control plane.
start_daemon etcd "$BIN/etcd-$ETCD_VERSION" --name custos --data-dir "$KUBE_STATE/etcd" \
  --listen-client-urls "http://127.0.0.1:$ETCD_CLIENT_PORT" --advertise-client-urls "http://127.0.0.1:$ETCD_CLIENT_PORT" \
  --listen-peer-urls "http://127.0.0.1:$ETCD_PEER_PORT" --initial-advertise-peer-urls "http://127.0.0.1:$ETCD_PEER_PORT" \
  --initial-cluster "custos=http://127.0.0.1:$ETCD_PEER_PORT" --unsafe-no-fsync
start_daemon kube-apiserver "$BIN/kube-apiserver-$KUBE_VERSION" \
  --etcd-servers "http://127.0.0.1:$ETCD_CLIENT_PORT" \
  --bind-address "$NODE_IP" --advertise-address "$NODE_IP" --secure-port 6443 \
  --service-cluster-ip-range "$SERVICE_CIDR" \
  --client-ca-file "$PKI/ca.crt" --tls-cert-file "$PKI/apiserver.crt" --tls-private-key-file "$PKI/apiserver.key" \
  --kubelet-client-certificate "$PKI/admin.crt" --kubelet-client-key "$PKI/admin.key" \
  --kubelet-certificate-authority "$PKI/ca.crt" --kubelet-preferred-address-types InternalIP,Hostname \
  --service-account-issuer https://kubernetes.default.svc.cluster.local \
  --service-account-key-file "$PKI/sa.pub" --service-account-signing-key-file "$PKI/sa.key" \
  --authorization-mode Node,RBAC --enable-admission-plugins NodeRestriction \
  --allow-privileged=true --profiling=false
wait_for "the API server" 90 "${KUBECTL[@]}" get --raw=/readyz
step "API server ready"
start_daemon kube-controller-manager "$BIN/kube-controller-manager-$KUBE_VERSION" \
  --kubeconfig "$KUBECONFIG_PATH" --secure-port 0 --leader-elect=false \
  --service-account-private-key-file "$PKI/sa.key" --root-ca-file "$PKI/ca.crt" \
  --cluster-signing-cert-file "$PKI/ca.crt" --cluster-signing-key-file "$PKI/ca.key" \
  --service-cluster-ip-range "$SERVICE_CIDR" --use-service-account-credentials=false
start_daemon kube-scheduler "$BIN/kube-scheduler-$KUBE_VERSION" \
  --kubeconfig "$KUBECONFIG_PATH" --secure-port 0 --leader-elect=false

# 6. Node: containerd with the CRI plugin, the bridge CNI, kubelet, kube-proxy, kube-router.
export NODE_POD_RANGE BRIDGE NODE_IP KUBE_STATE KUBE_RUN PAUSE_IMAGE CFG CONTAINERD_SOCK
mkdir -p "$CFG/cni"
envsubst <hack/kube/config/cni.conflist >"$CFG/cni/10-custos.conflist"
envsubst <hack/kube/config/containerd.toml >"$CFG/containerd.toml"
start_daemon containerd containerd --config "$CFG/containerd.toml"
wait_for containerd 30 ctr --address "$CONTAINERD_SOCK" version
for ref in "$PAUSE_IMAGE" "$BUSYBOX_IMAGE" "$COREDNS_IMAGE"; do
  ctr_k8s images import "$(image_tar "$ref")" >/dev/null
done
step "containerd up, local images imported"

export DNS_SERVICE_IP PKI
envsubst <hack/kube/config/kubelet.yaml >"$CFG/kubelet.yaml"
start_daemon kubelet "$BIN/kubelet-$KUBE_VERSION" --config "$CFG/kubelet.yaml" \
  --kubeconfig "$CFG/kubelet.kubeconfig" --root-dir "$KUBE_STATE/kubelet" \
  --hostname-override "$NODE_NAME" --node-ip "$NODE_IP" --pod-infra-container-image "$PAUSE_IMAGE"
export POD_CIDR KUBECONFIG_PATH NODE_NAME
envsubst <hack/kube/config/kube-proxy.yaml >"$CFG/kube-proxy.yaml"
start_daemon kube-proxy "$BIN/kube-proxy-$KUBE_VERSION" --config "$CFG/kube-proxy.yaml"
wait_for "node $NODE_NAME Ready" 120 "${KUBECTL[@]}" wait node "$NODE_NAME" --for condition=Ready --timeout 1s
step "node Ready"
start_daemon kube-router "$BIN/kube-router-$KUBE_ROUTER_VERSION" --kubeconfig "$KUBECONFIG_PATH" \
  --hostname-override "$NODE_NAME" --run-firewall=true --run-router=false --run-service-proxy=false \
  --enable-cni=false --enable-ipv6=false --service-cluster-ip-range "$SERVICE_CIDR" \
  --metrics-port 0 --health-port 0

# 7. Add-ons: CoreDNS, local-path storage, cert-manager (CRDs and controller).
export COREDNS_IMAGE BUSYBOX_IMAGE LOCAL_PATH_DIR="$KUBE_STATE/local-path"
mkdir -p "$LOCAL_PATH_DIR"
subst() { envsubst '${COREDNS_IMAGE} ${DNS_SERVICE_IP} ${LOCAL_PATH_DIR} ${BUSYBOX_IMAGE}' <"$1"; }
subst hack/kube/manifests/coredns.yaml | "${KUBECTL[@]}" apply -f - >/dev/null
subst hack/kube/manifests/local-path.yaml | "${KUBECTL[@]}" apply -f - >/dev/null
start_daemon local-path-provisioner "$BIN/local-path-provisioner-$LOCAL_PATH_VERSION" start \
  --kubeconfig "$KUBECONFIG_PATH" --namespace local-path-storage --configmap-name local-path-config \
  --service-account-name local-path-provisioner-service-account --helper-image "$BUSYBOX_IMAGE"
"${KUBECTL[@]}" apply --server-side -f "$CACHE/cert-manager-crds-$CERT_MANAGER_VERSION.yaml" >/dev/null
"${KUBECTL[@]}" create namespace cert-manager >/dev/null
"${KUBECTL[@]}" wait crd --all --for condition=Established --timeout 60s >/dev/null
start_daemon cert-manager-controller "$BIN/cert-manager-controller-$CERT_MANAGER_VERSION" \
  --kubeconfig "$KUBECONFIG_PATH" --cluster-resource-namespace cert-manager \
  --certificate-request-minimum-backoff 10s
step "add-ons applied"

# 8. Ready means: CoreDNS answers for kubernetes.default from a pod, the NetworkPolicy firewall
# is installed, and every host-run component is still alive.
"${KUBECTL[@]}" -n kube-system rollout status deploy/coredns --timeout 120s >/dev/null
"${KUBECTL[@]}" -n kube-system run dns-check --image "$BUSYBOX_IMAGE" --image-pull-policy Never \
  --restart Never --command -- sh -c \
  'for i in $(seq 60); do nslookup kubernetes.default.svc.cluster.local && exit 0; sleep 1; done; exit 1' >/dev/null
wait_for "kubernetes.default to resolve from a pod" 90 "${KUBECTL[@]}" -n kube-system wait pod/dns-check \
  --for jsonpath='{.status.phase}'=Succeeded --timeout 1s
"${KUBECTL[@]}" -n kube-system delete pod dns-check --wait=false >/dev/null
step "cluster DNS answers"
wait_for "kube-router's NetworkPolicy chains" 60 iptables -w -S KUBE-ROUTER-FORWARD
wait_for "the cert-manager controllers to start" 60 grep -q '"starting controllers"' "$LOGS/cert-manager-controller.log"
for name in etcd kube-apiserver kube-controller-manager kube-scheduler containerd kubelet kube-proxy \
  kube-router local-path-provisioner cert-manager-controller; do
  alive "$name" || die "$name exited (log: $LOGS/$name.log)"
done
step "cluster up"
echo "export KUBECONFIG=$KUBECONFIG_PATH"
