#!/usr/bin/env bash
# Moves images from the build daemon into the cluster: `docker save | ctr -n k8s.io images import`
# into the local cluster's containerd (hack/kube), or `kind load` (IMAGE_LOADER=kind).
# Usage: hack/images/load.sh <image>...
set -euo pipefail
cd "$(dirname "$0")/../.."
export DOCKER_HOST="${DOCKER_HOST:-unix:///run/custos-docker.sock}"
LOADER="${IMAGE_LOADER:-containerd}"
(($#)) || { echo "usage: hack/images/load.sh <image>..." >&2; exit 2; }
case "$LOADER" in
  kind) kind load docker-image --name "${KIND_CLUSTER:-custos-e2e}" "$@" ;;
  containerd)
    # One archive for all the images: shared layers are written and imported once.
    tar="$(mktemp /var/tmp/custos-images.XXXXXX.tar)"
    trap 'rm -f "$tar"' EXIT
    docker save -o "$tar" "$@"
    bash hack/kube/load-image.sh "$tar"
    ;;
  *) echo "IMAGE_LOADER must be containerd or kind, got $LOADER" >&2; exit 1 ;;
esac
