#!/usr/bin/env bash
# Starts a Docker daemon for image builds: Debian's docker.io (dockerd 20.10) with its own
# containerd and state under /var/lib/custos-docker, so it never touches the cluster's containerd.
# Idempotent: does nothing when the daemon already answers. Builds use the legacy builder
# (DOCKER_BUILDKIT=0): Debian ships no buildx, and BuildKit would try to pull a frontend image.
set -euo pipefail
SOCK="${CUSTOS_DOCKER_SOCK:-/run/custos-docker.sock}"
ROOT="${CUSTOS_DOCKER_ROOT:-/var/lib/custos-docker}"
LOG="${CUSTOS_CACHE:-$HOME/.cache/custos}/dockerd.log"
log() { printf '[hack/images %s] %s\n' "$(date -u +%H:%M:%S)" "$*" >&2; }

if [ ! -x /usr/sbin/dockerd ] || ! command -v debootstrap >/dev/null; then
  log "installing docker.io and debootstrap from Debian"
  export DEBIAN_FRONTEND=noninteractive
  apt-get -o DPkg::Lock::Timeout=600 update -qq
  apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends docker.io debootstrap >/dev/null
fi

if DOCKER_HOST="unix://$SOCK" docker version >/dev/null 2>&1; then
  exit 0
fi
mkdir -p "$ROOT" "$(dirname "$LOG")"
log "starting dockerd on $SOCK (log: $LOG)"
# --bridge=none/--iptables=false: builds need no container networking beyond the host's
# (RUN steps use --network=host), and dockerd must not rewrite the cluster's iptables rules.
setsid nohup /usr/sbin/dockerd --host "unix://$SOCK" --data-root "$ROOT" \
  --exec-root /run/custos-docker --pidfile /run/custos-docker.pid \
  --bridge=none --iptables=false --ip-masq=false --storage-driver=overlay2 \
  >>"$LOG" 2>&1 </dev/null &
for _ in $(seq 1 60); do
  DOCKER_HOST="unix://$SOCK" docker version >/dev/null 2>&1 && exit 0
  sleep 1
done
log "dockerd did not answer within 60 s; see $LOG"
exit 1
