#!/usr/bin/env bash
# Builds the bnb-chain/tss-lib v2 benchmark harness (Go module from the module proxy) into
# ${CUSTOS_CACHE:-~/.cache/custos}/bin/tss-lib-bench; prints the binary's path.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cache="${CUSTOS_CACHE:-$HOME/.cache/custos}"
bin="$cache/bin/tss-lib-bench"
mkdir -p "$cache/bin"
if [[ ! -x "$bin" || "$here/main.go" -nt "$bin" || "$here/go.sum" -nt "$bin" ]]; then
  (cd "$here" && GOFLAGS=-mod=mod go build -trimpath -o "$bin" .) >&2
fi
echo "$bin"
