#!/usr/bin/env bash
# Builds the Kubernetes test binaries from Go modules (the only reachable source here) and caches
# them as ${CUSTOS_CACHE}/bin/<name>-<version>; a second run with a warm cache does nothing.
# Measured on 2 shared cores: cold (empty Go module and build caches) 9.5 min, warm 0.02 s.
set -euo pipefail

# v1.30.4: the module proxy reachable here has every k8s.io staging module these commands import
# at v0.30.4, but lacks several at v0.31.x. kube-apiserver 1.30 supports etcd 3.5.x.
KUBE_VERSION="${KUBE_VERSION:-v1.30.4}"
ETCD_VERSION="${ETCD_VERSION:-v3.5.11}"
HELM_VERSION="${HELM_VERSION:-v3.19.5}"
KUBECONFORM_VERSION="${KUBECONFORM_VERSION:-v0.7.0}"

CACHE="${CUSTOS_CACHE:-$HOME/.cache/custos}"
BIN="$CACHE/bin"
mkdir -p "$BIN"
export GOTOOLCHAIN=local GOFLAGS=-mod=mod CGO_ENABLED=0
# Go >= 1.23 refuses some linkname pulls in older dependencies; they are harmless here.
LDFLAGS="-s -w -checklinkname=0"

log() { printf '[hack/kube %s] %s\n' "$(date -u +%H:%M:%S)" "$*"; }
have() { [[ -x "$BIN/$1" ]]; }

command -v go >/dev/null || { echo "hack/kube/build.sh: go is required" >&2; exit 1; }

k8s_staging_mod() {
  # go.mod for a module that builds k8s.io/kubernetes commands: kubernetes' own replace
  # directives point at ./staging; pin each staged module to the matching v0.x.y instead.
  local dir=$1 gomod staging
  gomod=$(go mod download -json "k8s.io/kubernetes@$KUBE_VERSION" | sed -n 's/.*"GoMod": "\(.*\)".*/\1/p')
  staging="v0.${KUBE_VERSION#v1.}"
  {
    echo "module custos.dev/hack/kube"
    echo
    echo "go 1.22"
    echo
    echo "require k8s.io/kubernetes $KUBE_VERSION"
    echo "require go.etcd.io/etcd/server/v3 $ETCD_VERSION"
    echo
    grep -E '^\s*k8s\.io/[a-z0-9-]+ => \./staging/' "$gomod" |
      awk -v v="$staging" '{print "replace " $1 " => " $1 " " v}'
  } >"$dir/go.mod"
}

build_kube() {
  local names=() n
  for n in kube-apiserver kube-controller-manager kube-scheduler kubelet kube-proxy kubectl etcd; do
    local v=$KUBE_VERSION
    [[ $n == etcd ]] && v=$ETCD_VERSION
    have "$n-$v" || names+=("$n")
  done
  ((${#names[@]})) || { log "Kubernetes $KUBE_VERSION binaries and etcd $ETCD_VERSION cached"; return; }
  local work
  work=$(mktemp -d)
  trap 'rm -rf "$work"' RETURN
  log "generating go.mod for k8s.io/kubernetes $KUBE_VERSION"
  k8s_staging_mod "$work"
  mkdir -p "$work/etcd"
  cat >"$work/etcd/main.go" <<'GO'
// etcd built from the etcd server module, so the version matches what kube-apiserver supports.
package main

import (
	"os"

	"go.etcd.io/etcd/server/v3/etcdmain"
)

func main() { etcdmain.Main(os.Args) }
GO
  cd "$work"
  for n in "${names[@]}"; do
    local pkg="k8s.io/kubernetes/cmd/$n" v=$KUBE_VERSION ld=$LDFLAGS
    if [[ $n == etcd ]]; then
      pkg=./etcd v=$ETCD_VERSION
    else
      ld="$LDFLAGS -X k8s.io/component-base/version.gitVersion=$KUBE_VERSION -X k8s.io/component-base/version.gitMajor=1 -X k8s.io/component-base/version.gitMinor=${KUBE_VERSION#v1.}"
      ld="${ld%.*}"
    fi
    log "building $n $v (cold: several minutes)"
    local start=$SECONDS
    go build -trimpath -ldflags "$ld" -o "$BIN/$n-$v.tmp" "$pkg"
    mv "$BIN/$n-$v.tmp" "$BIN/$n-$v"
    log "built $n in $((SECONDS - start))s"
  done
  cd - >/dev/null
}

build_tool() {
  local name=$1 pkg=$2 version=$3
  if have "$name-$version"; then log "$name $version cached"; return; fi
  local work start=$SECONDS
  work=$(mktemp -d)
  log "building $name $version"
  GOBIN="$work" go install -trimpath -ldflags "-s -w -X helm.sh/helm/v3/internal/version.version=$version" "$pkg@$version"
  mv "$work/$name" "$BIN/$name-$version"
  rm -rf "$work"
  log "built $name in $((SECONDS - start))s"
}

build_tool kubeconform github.com/yannh/kubeconform/cmd/kubeconform "$KUBECONFORM_VERSION"
build_tool helm helm.sh/helm/v3/cmd/helm "$HELM_VERSION"
build_kube

# Stable names for the test helpers.
for pair in "kube-apiserver:$KUBE_VERSION" "kube-controller-manager:$KUBE_VERSION" "kube-scheduler:$KUBE_VERSION" "kubelet:$KUBE_VERSION" "kube-proxy:$KUBE_VERSION" "kubectl:$KUBE_VERSION" "etcd:$ETCD_VERSION" "helm:$HELM_VERSION" "kubeconform:$KUBECONFORM_VERSION"; do
  ln -sfn "${pair%%:*}-${pair#*:}" "$BIN/${pair%%:*}"
done
log "binaries ready in $BIN"
