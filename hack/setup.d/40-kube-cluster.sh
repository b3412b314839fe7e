#!/usr/bin/env bash
# What the local real cluster runs besides the Kubernetes binaries (test/cluster, make cluster-up):
# CoreDNS, kube-router, local-path-provisioner, the cert-manager controller and the pause, busybox
# and CoreDNS images, built from Go modules and Debian packages and cached under $CUSTOS_CACHE.
set -euo pipefail
cd "$(dirname "$0")/../.."
nice -n 5 bash hack/kube/build-cluster.sh
