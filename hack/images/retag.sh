#!/usr/bin/env bash
# Gives a built image another tag and loads it into the cluster (the e2e suite's image upgrade).
# Usage: hack/images/retag.sh <image> <new image>
set -euo pipefail
cd "$(dirname "$0")/../.."
export DOCKER_HOST="${DOCKER_HOST:-unix:///run/custos-docker.sock}"
docker tag "$1" "$2"
bash hack/images/load.sh "$2"
