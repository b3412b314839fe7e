#!/usr/bin/env bash
# Builds what the local real cluster runs besides the Kubernetes binaries (hack/kube/build.sh):
# CoreDNS, kube-router (NetworkPolicy firewall), local-path-provisioner and the cert-manager
# controller from Go modules; the pause, busybox and CoreDNS images as OCI archives; and a copy of
# cert-manager's real CRDs taken from its Go module. Everything lands in $CUSTOS_CACHE under
# versioned names; a warm run does nothing. Cold steps print their wall time.
set -euo pipefail
cd "$(dirname "$0")/../.."
source hack/kube/lib.sh


export GOTOOLCHAIN=local GOFLAGS=-mod=mod CGO_ENABLED=0
command -v go >/dev/null || die "go is required"
for tool in umoci skopeo gcc busybox; do
  command -v "$tool" >/dev/null || die "$tool is missing: run hack/setup.d/30-kube-node.sh (make test-deps)"
done
mkdir -p "$BIN" "$IMAGES"

go_install() { # name package version
  local name=$1 pkg=$2 version=$3 work start=$SECONDS
  if [[ -x "$BIN/$name-$version" ]]; then log "$name $version cached"; return; fi
  work=$(mktemp -d)
  log "building $name $version (cold: 1-20 min, depending on load)"
  GOBIN="$work" go install -trimpath -ldflags "-s -w -checklinkname=0" "$pkg@$version"
  mv "$work/$(basename "$pkg")" "$BIN/$name-$version"
  rm -rf "$work"
  log "built $name in $((SECONDS - start))s"
}

build_cert_manager() {
  local out="$BIN/cert-manager-controller-$CERT_MANAGER_VERSION" work start=$SECONDS
  if [[ -x "$out" ]]; then log "cert-manager controller $CERT_MANAGER_VERSION cached"; return; fi
  log "building the cert-manager controller $CERT_MANAGER_VERSION (cold: several minutes)"
  work=$(mktemp -d)
  cp hack/kube/cert-manager/main.go "$work/"
  (
    cd "$work"
    printf 'module custos.dev/hack/kube/cert-manager\n\ngo 1.26\n\nrequire github.com/cert-manager/cert-manager %s\n' \
      "$CERT_MANAGER_VERSION" >go.mod
    go build -trimpath -ldflags "-s -w" -o "$out.tmp" .
  )
  mv "$out.tmp" "$out"
  rm -rf "$work"
  log "built the cert-manager controller in $((SECONDS - start))s"
}

# pack_image <name:tag> <rootfs dir> <entrypoint...>: an OCI image as a docker-archive tar that
# `ctr -n k8s.io images import` accepts.
pack_image() {
  local ref=$1 rootfs=$2 work tag=${1##*:}
  shift 2
  work=$(mktemp -d)
  umoci init --layout "$work/oci"
  umoci new --image "$work/oci:$tag"
  umoci unpack --rootless --image "$work/oci:$tag" "$work/bundle" >/dev/null
  cp -a "$rootfs/." "$work/bundle/rootfs/"
  umoci repack --image "$work/oci:$tag" "$work/bundle"
  local args=() e
  for e in "$@"; do args+=(--config.entrypoint "$e"); done
  umoci config --image "$work/oci:$tag" "${args[@]}"
  local out
  out=$(image_tar "$ref")
  rm -f "$out.tmp"
  skopeo copy --quiet "oci:$work/oci:$tag" "docker-archive:$out.tmp:$ref"
  mv "$out.tmp" "$out"
  rm -rf "$work"
}

build_pause_image() {
  local ref="$PAUSE_IMAGE" root
  if [[ -s "$(image_tar "$ref")" ]]; then log "pause image cached"; return; fi
  root=$(mktemp -d)
  gcc -static -Os -o "$root/pause" hack/kube/pause/pause.c
  strip "$root/pause"
  pack_image "$ref" "$root" /pause
  rm -rf "$root"
  log "built $ref"
}

build_busybox_image() {
  local ref="$BUSYBOX_IMAGE" root
  if [[ -s "$(image_tar "$ref")" ]]; then log "busybox image cached"; return; fi
  root=$(mktemp -d)
  mkdir -p "$root/bin" "$root/tmp" "$root/etc"
  cp "$(command -v busybox)" "$root/bin/busybox"
  for applet in $("$root/bin/busybox" --list); do
    [[ $applet == busybox ]] || ln -s busybox "$root/bin/$applet"
  done
  echo 'root:x:0:0:root:/:/bin/sh' >"$root/etc/passwd"
  echo 'root:x:0:' >"$root/etc/group"
  pack_image "$ref" "$root" /bin/sh
  rm -rf "$root"
  log "built $ref"
}

build_coredns_image() {
  local ref="$COREDNS_IMAGE" root
  if [[ -s "$(image_tar "$ref")" ]]; then log "CoreDNS image cached"; return; fi
  root=$(mktemp -d)
  cp "$BIN/coredns-$COREDNS_VERSION" "$root/coredns"
  pack_image "$ref" "$root" /coredns
  rm -rf "$root"
  log "built $ref"
}

total=$SECONDS
go_install coredns github.com/coredns/coredns "$COREDNS_VERSION"
go_install kube-router github.com/cloudnativelabs/kube-router/v2/cmd/kube-router "$KUBE_ROUTER_VERSION"
go_install local-path-provisioner github.com/rancher/local-path-provisioner "$LOCAL_PATH_VERSION"
build_cert_manager
bash hack/kube/cert-manager-crds.sh
build_pause_image
build_busybox_image
build_coredns_image
log "cluster add-ons ready in $((SECONDS - total))s"
