#!/usr/bin/env bash
# load-image.sh <docker-image-ref | image.tar>...: imports images into the local cluster's
# containerd (namespace k8s.io), where pods with imagePullPolicy: Never or IfNotPresent find them.
# A tar may be a `docker save` archive or an OCI archive; a reference is taken from the local
# Docker daemon with `docker save`.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
(($#)) || die "usage: load-image.sh <docker-image-ref | image.tar>..."
[[ -S $CONTAINERD_SOCK ]] || die "the cluster is not running (make cluster-up)"
for image in "$@"; do
  if [[ -f $image ]]; then
    ctr_k8s images import "$image" >/dev/null
  else
    command -v docker >/dev/null || die "$image is not a file and docker is not installed"
    tar=$(mktemp --suffix=.tar)
    # shellcheck disable=SC2064 # expand now: tar is per iteration
    trap "rm -f '$tar'" EXIT
    docker save -o "$tar" "$image" || die "docker save $image failed (is the image built, is DOCKER_HOST right?)"
    ctr_k8s images import "$tar" >/dev/null
    rm -f "$tar"
  fi
  log "loaded $image"
done
