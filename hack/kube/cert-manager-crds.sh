#!/usr/bin/env bash
# Copies cert-manager's real CRDs (deploy/crds/*.yaml of the Go module
# github.com/cert-manager/cert-manager) into one file in $CUSTOS_CACHE, for the local cluster and
# the test API servers of test/kube and test/chart. No copy is kept in this repository.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
dest="$CACHE/cert-manager-crds-$CERT_MANAGER_VERSION.yaml"
if [[ -s $dest ]]; then log "cert-manager CRDs $CERT_MANAGER_VERSION cached"; exit 0; fi
command -v go >/dev/null || die "go is required"
mkdir -p "$CACHE"
dir=$(GOFLAGS=-mod=mod go mod download -json "github.com/cert-manager/cert-manager@$CERT_MANAGER_VERSION" |
  sed -n 's/.*"Dir": "\(.*\)".*/\1/p')
[[ -d $dir/deploy/crds ]] || die "the cert-manager module at $CERT_MANAGER_VERSION has no deploy/crds"
for f in "$dir"/deploy/crds/*.yaml; do
  cat "$f"
done >"$dest.tmp"
mv "$dest.tmp" "$dest"
log "cert-manager CRDs $CERT_MANAGER_VERSION copied to $dest"
