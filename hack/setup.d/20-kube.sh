#!/usr/bin/env bash
# Test dependencies of test/kube and test/chart: etcd, kube-apiserver, kube-controller-manager,
# helm and kubeconform built from Go modules (cached; cold ~10 min on 2 cores), and openssl for the
# control plane's throwaway PKI.
set -euo pipefail
cd "$(dirname "$0")/../.."
if ! command -v openssl >/dev/null; then
  apt-get update -qq && apt-get install -y -qq openssl
fi
nice -n 5 bash hack/kube/build.sh
# cert-manager's real CRDs for the test API servers (copied from its Go module, cached).
bash hack/kube/cert-manager-crds.sh
