#!/usr/bin/env bash
# End-to-end on a real kind cluster, for platform teams: builds and loads the three images,
# installs cert-manager and the chart, applies a KmsCluster and a ManagedKey, signs through the
# gateway and verifies the signature. Needs Docker, kind, kubectl, helm and internet access (for
# the base images and cert-manager); this repository's CI runs test/kube against a real
# kube-apiserver instead.
set -euo pipefail
cd "$(dirname "$0")/../.."

CLUSTER="${KIND_CLUSTER:-custos-e2e}"
NS="${E2E_NAMESPACE:-custody}"
TAG="${IMAGE_TAG:-0.1.0}"
CERT_MANAGER_VERSION="${CERT_MANAGER_VERSION:-v1.16.2}"
log() { printf '[e2e-kind %s] %s\n' "$(date -u +%H:%M:%S)" "$*"; }

for tool in docker kind kubectl helm; do
  command -v "$tool" >/dev/null || { echo "e2e-kind needs $tool on PATH" >&2; exit 1; }
done

if ! kind get clusters | grep -qx "$CLUSTER"; then
  log "creating kind cluster $CLUSTER"
  kind create cluster --name "$CLUSTER" --wait 120s
fi
kubectl config use-context "kind-$CLUSTER" >/dev/null

for comp in node gateway operator; do
  log "building custos-$comp:$TAG"
  docker build -f "$comp/Dockerfile" -t "custos-$comp:$TAG" .
  kind load docker-image --name "$CLUSTER" "custos-$comp:$TAG"
done

log "installing cert-manager $CERT_MANAGER_VERSION"
kubectl apply -f "https://github.com/cert-manager/cert-manager/releases/download/$CERT_MANAGER_VERSION/cert-manager.yaml"
kubectl -n cert-manager rollout status deploy/cert-manager-webhook --timeout=180s

log "installing the chart"
helm upgrade --install custos charts/custos --namespace custos-system --create-namespace \
  --set image.tag="$TAG" --set image.pullPolicy=Never --wait --timeout 180s

kubectl create namespace "$NS" --dry-run=client -o yaml | kubectl apply -f -
log "applying a KmsCluster (no backups: kind has no shared backup volume)"
sed -e '/^  backup:/,$d' -e "s/custos-node:0.1.0/custos-node:$TAG/" config/samples/kmscluster.yaml |
  kubectl -n "$NS" apply -f -
kubectl -n "$NS" patch kmscluster custody --type merge \
  -p "{\"spec\":{\"images\":{\"node\":\"custos-node:$TAG\",\"gateway\":\"custos-gateway:$TAG\",\"pullPolicy\":\"Never\"}}}"
kubectl -n "$NS" wait kmscluster/custody --for=condition=Ready --timeout=600s

log "applying a ManagedKey"
kubectl -n "$NS" apply -f config/samples/managedkey.yaml
kubectl -n "$NS" wait managedkey/hot-wallet --for=jsonpath='{.status.phase}'=Ready --timeout=600s
KEY_ID=$(kubectl -n "$NS" get managedkey hot-wallet -o jsonpath='{.status.keyId}')
PUBLIC_KEY=$(kubectl -n "$NS" get managedkey hot-wallet -o jsonpath='{.status.publicKey}')

log "signing through the gateway with the operator's access key"
secret() { kubectl -n "$NS" get secret custody-operator-credentials -o "jsonpath={.data.$1}" | base64 -d; }
# The gateway's NetworkPolicy admits the operator namespace; a port-forward goes through the kubelet.
kubectl -n "$NS" port-forward svc/custody-gateway 18080:8080 >/tmp/custos-e2e-portforward.log 2>&1 &
PF=$!
trap 'kill $PF 2>/dev/null || true' EXIT
sleep 3
CUSTOS_URL=http://127.0.0.1:18080 CUSTOS_ACCESS_KEY="$(secret access_key)" CUSTOS_SECRET_KEY="$(secret secret_key)" \
  ./node_modules/.bin/tsx hack/kube/e2e-sign.ts "$KEY_ID" "$PUBLIC_KEY"
log "e2e passed"
