#!/usr/bin/env bash
# `make e2e-kind`: the test/e2e suite (the same one `make test` runs on the local cluster) against
# a kind cluster, for machines with internet access. Builds the images from a public Node.js 20
# base, loads them with `kind load`, installs cert-manager, then runs the suite, which installs the
# chart itself. Needs Docker, kind, kubectl and helm on PATH. The NetworkPolicy step needs a CNI
# that enforces policies (check your kind version's kindnet, or install Calico).
set -euo pipefail
cd "$(dirname "$0")/../.."

CLUSTER="${KIND_CLUSTER:-custos-e2e}"
CERT_MANAGER_VERSION="${CERT_MANAGER_VERSION:-v1.16.2}"
export BASE_IMAGE="${BASE_IMAGE:-docker.io/library/node:20.19.5-bookworm-slim}"
export IMAGE_REGISTRY="${IMAGE_REGISTRY:-custos.local}"
export IMAGE_TAG="${IMAGE_TAG:-$(node -p 'require("./package.json").version')}"
export IMAGE_LOADER=kind KIND_CLUSTER="$CLUSTER"
# The user's own Docker daemon, not the local one hack/images/docker-up.sh starts.
export DOCKER_HOST="${DOCKER_HOST:-unix:///var/run/docker.sock}"
log() { printf '[e2e-kind %s] %s\n' "$(date -u +%H:%M:%S)" "$*"; }

for tool in docker kind kubectl helm; do
  command -v "$tool" >/dev/null || { echo "e2e-kind needs $tool on PATH" >&2; exit 1; }
done

if ! kind get clusters | grep -qx "$CLUSTER"; then
  log "creating kind cluster $CLUSTER"
  kind create cluster --name "$CLUSTER" --wait 120s
fi
KUBECONFIG="$(mktemp)"
export KUBECONFIG
kind get kubeconfig --name "$CLUSTER" >"$KUBECONFIG"

log "building and loading the images from $BASE_IMAGE"
bash hack/images/build.sh

log "installing cert-manager $CERT_MANAGER_VERSION"
kubectl apply -f "https://github.com/cert-manager/cert-manager/releases/download/$CERT_MANAGER_VERSION/cert-manager.yaml"
kubectl -n cert-manager rollout status deploy/cert-manager-webhook --timeout=180s

log "running the e2e suite"
CUSTOS_E2E_PREPARED=1 ./node_modules/.bin/tsx test/run.ts e2e
