#!/usr/bin/env bash
# Installs every test dependency by running hack/setup.d/*.sh in order. Each script is idempotent
# and caches what it builds under $CUSTOS_CACHE (default ~/.cache/custos).
set -euo pipefail
cd "$(dirname "$0")/.."
export CUSTOS_CACHE="${CUSTOS_CACHE:-$HOME/.cache/custos}"
mkdir -p "$CUSTOS_CACHE"
for script in hack/setup.d/*.sh; do
  [ -e "$script" ] || continue
  echo "==> $(basename "$script")"
  bash "$script"
done
