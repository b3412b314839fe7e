#!/usr/bin/env bash
# `make images`: builds every target of the root Dockerfile as $IMAGE_REGISTRY/custos-<target>:$IMAGE_TAG
# and loads it into the cluster (hack/images/load.sh). Without BASE_IMAGE the base is the local one
# from hack/images/base-image.sh (no container registry needed); users pass a public Node.js 20
# image, e.g. BASE_IMAGE=docker.io/library/node:20.19.5-bookworm-slim. IMAGE_LOADER=none only builds.
set -euo pipefail
cd "$(dirname "$0")/../.."
export DOCKER_BUILDKIT=0
export DOCKER_HOST="${DOCKER_HOST:-unix:///run/custos-docker.sock}"
REGISTRY="${IMAGE_REGISTRY:-custos.local}"
TAG="${IMAGE_TAG:-$(node -p 'require("./package.json").version')}"
TARGETS="${IMAGE_TARGETS:-node gateway operator kek-sidecar softhsm-sidecar}"
LOADER="${IMAGE_LOADER:-containerd}"
LOGS="${CUSTOS_CACHE:-$HOME/.cache/custos}/images"
mkdir -p "$LOGS"
log() { printf '[hack/images %s] %s\n' "$(date -u +%H:%M:%S)" "$*" >&2; }

if [ "$DOCKER_HOST" = unix:///run/custos-docker.sock ]; then bash hack/images/docker-up.sh; fi
BASE_IMAGE="${BASE_IMAGE:-$(bash hack/images/base-image.sh)}"
case "$BASE_IMAGE" in
  */*:* | */*@*) ;;
  *) echo "BASE_IMAGE must name its registry and a tag or digest, got $BASE_IMAGE" >&2; exit 1 ;;
esac

start=$SECONDS
refs=()
for target in $TARGETS; do
  ref="$REGISTRY/custos-$target:$TAG"
  log "building $ref (target $target, base $BASE_IMAGE)"
  # --network=host: the build steps reach the package registries through the host's network.
  build_log="$LOGS/build-$target.log"
  if ! nice docker build --network=host --target "$target" --build-arg "BASE_IMAGE=$BASE_IMAGE" -t "$ref" . \
    >"$build_log" 2>&1; then
    tail -40 "$build_log" >&2
    echo "building $ref failed (full log: $build_log)" >&2
    exit 1
  fi
  refs+=("$ref")
done
# One load for all: the targets share most layers, so one archive moves them once.
[ "$LOADER" = none ] || bash hack/images/load.sh "${refs[@]}"

log "images built and loaded in $((SECONDS - start)) s"
