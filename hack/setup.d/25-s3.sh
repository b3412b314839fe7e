#!/usr/bin/env bash
# versitygw, an S3-compatible server over a POSIX directory, for the backup tests (test/backup).
# Built from its Go module (the module proxy is the only reachable source) and cached as
# ${CUSTOS_CACHE}/bin/versitygw-<version>; a warm cache does nothing.
# Measured on 2 shared cores: cold build about 6 min, warm 0.01 s.
set -euo pipefail
VERSITYGW_VERSION="${VERSITYGW_VERSION:-v1.8.0}"
CACHE="${CUSTOS_CACHE:-$HOME/.cache/custos}"
BIN="$CACHE/bin"
TARGET="$BIN/versitygw-$VERSITYGW_VERSION"
if [[ -x "$TARGET" ]]; then
  echo "versitygw $VERSITYGW_VERSION cached"
  exit 0
fi
command -v go >/dev/null || { echo "hack/setup.d/25-s3.sh: go is required" >&2; exit 1; }
mkdir -p "$BIN"
export GOTOOLCHAIN=local GOFLAGS=-mod=mod CGO_ENABLED=0
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"
printf 'module custos.dev/hack/s3\n\ngo 1.24\n' >go.mod
go get "github.com/versity/versitygw@$VERSITYGW_VERSION"
echo "building versitygw $VERSITYGW_VERSION (cold: several minutes)"
nice go build -trimpath -ldflags "-s -w" -o "$TARGET.tmp" github.com/versity/versitygw/cmd/versitygw
mv "$TARGET.tmp" "$TARGET"
echo "versitygw: $TARGET"
