#!/usr/bin/env bash
# Moves images from the build daemon into the cluster: `docker save | ctr -n k8s.io images import`
# into the local cluster's containerd (hack/kube), or `kind load` (IMAGE_LOADER=kind).
# Usage: hack/images/load.sh <image>...
set -euo pipefail
cd "$(dirname "$0")/../.."
export DOCKER_HOST="${DOCKER_HOST:-unix:///run/custos-docker.sock}"
LOADER="${IMAGE_LOADER:-containerd}"
for ref in "$@"; do
  case "$LOADER" in
    kind) kind load docker-image --name "${KIND_CLUSTER:-custos-e2e}" "$ref" ;;
    containerd) bash hack/kube/load-image.sh "$ref" ;;
    *) echo "IMAGE_LOADER must be containerd or kind, got $LOADER" >&2; exit 1 ;;
  esac
done
