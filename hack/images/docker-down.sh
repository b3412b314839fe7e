#!/usr/bin/env bash
# Stops the image-build Docker daemon hack/images/docker-up.sh started (its pidfile), if it runs:
# `make cluster-down` calls it so nothing of the local cluster or its image builds stays running.
set -euo pipefail
PIDFILE=/run/custos-docker.pid
[ -f "$PIDFILE" ] || exit 0
pid=$(cat "$PIDFILE")
if kill -0 "$pid" 2>/dev/null; then
  printf '[hack/images %s] stopping dockerd (pid %s)\n' "$(date -u +%H:%M:%S)" "$pid" >&2
  kill -TERM "$pid" 2>/dev/null || true
  # dockerd stops its own containerd and shims first.
  for _ in $(seq 60); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
  kill -KILL "$pid" 2>/dev/null || true
fi
rm -f "$PIDFILE"
