#!/usr/bin/env bash
# Node packages for the local real cluster (make cluster-up, test/cluster): the container runtime
# (containerd, runc), the CNI plugins (bridge, host-local, loopback), the kernel-facing tools
# kube-proxy and kube-router call (iptables, ipset, conntrack), and umoci + skopeo to pack locally
# built root filesystems as OCI images (busybox-static gives the one image with a shell: the
# local-path helper pods and the test client pods). All from Debian: no container registry is used.
set -euo pipefail
pkgs=(containerd runc containernetworking-plugins iptables ipset conntrack umoci skopeo busybox-static gcc libc6-dev binutils gettext-base iproute2 util-linux openssl)
need=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || need+=("$p")
done
if [ ${#need[@]} -gt 0 ]; then
  echo "installing ${need[*]} from Debian"
  start=$SECONDS
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
  echo "installed in $((SECONDS - start))s"
fi
# The packaged containerd service is not used: hack/kube/cluster-up.sh runs its own instance with
# its own config, root and socket under $CUSTOS_HOME/kube.
if command -v systemctl >/dev/null && systemctl is-active --quiet containerd 2>/dev/null; then
  systemctl stop containerd || true
fi
echo "containerd: $(containerd --version | awk '{print $3}'), runc: $(runc --version | awk 'NR==1{print $3}')"
