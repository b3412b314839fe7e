#!/usr/bin/env bash
# Makes the Node.js base image CI builds the project's images from, with no container registry:
# a Debian bookworm root from `debootstrap --variant=minbase` plus this host's Node 20 binary, npm,
# headers (native addons build against them) and CA bundle (TLS to the package registries is
# intercepted here), `docker import`ed as $BASE_IMAGE. Users build from a public Node.js LTS image
# instead (see the Dockerfile's BASE_IMAGE argument). The image is cached as a tar under
# $CUSTOS_CACHE/images; a warm run only loads it. Prints the image reference on stdout.
set -euo pipefail
CACHE="${CUSTOS_CACHE:-$HOME/.cache/custos}"
export DOCKER_HOST="${DOCKER_HOST:-unix:///run/custos-docker.sock}"
NODE_VERSION="$(node -p 'process.versions.node')"
BASE_IMAGE="${BASE_IMAGE:-custos.local/node-base:$NODE_VERSION-bookworm}"
TAR="$CACHE/images/node-base-$NODE_VERSION-bookworm.tar"
MIRROR="${DEBIAN_MIRROR:-http://deb.debian.org/debian}"
log() { printf '[hack/images %s] %s\n' "$(date -u +%H:%M:%S)" "$*" >&2; }

if docker image inspect "$BASE_IMAGE" >/dev/null 2>&1; then
  echo "$BASE_IMAGE"
  exit 0
fi
mkdir -p "$CACHE/images"
if [ -s "$TAR" ]; then
  log "loading $BASE_IMAGE from $TAR"
  docker load -i "$TAR" >/dev/null
  echo "$BASE_IMAGE"
  exit 0
fi

node_bin="$(command -v node)"
node_prefix="$(dirname "$(dirname "$(readlink -f "$node_bin")")")"
npm_dir="$(dirname "$(dirname "$(readlink -f "$(command -v npm)")")")"
headers="$node_prefix/include/node"
[ -f "$headers/node_version.h" ] || { echo "node headers not found at $headers" >&2; exit 1; }
[ "${NODE_VERSION%%.*}" = 20 ] || { echo "the host's Node is $NODE_VERSION; the base needs Node 20" >&2; exit 1; }

root="$(mktemp -d /var/tmp/custos-base.XXXXXX)"
trap 'rm -rf "$root"' EXIT
log "debootstrap --variant=minbase bookworm (about 80 s)"
debootstrap --variant=minbase bookworm "$root" "$MIRROR" >"$CACHE/images/debootstrap.log" 2>&1 ||
  { tail -20 "$CACHE/images/debootstrap.log" >&2; exit 1; }
log "adding Node $NODE_VERSION, npm, headers and the CA bundle"
install -D -m 0755 "$(readlink -f "$node_bin")" "$root/usr/local/bin/node"
mkdir -p "$root/usr/local/lib/node_modules" "$root/usr/local/include"
cp -a "$npm_dir" "$root/usr/local/lib/node_modules/npm"
ln -sf ../lib/node_modules/npm/bin/npm-cli.js "$root/usr/local/bin/npm"
ln -sf ../lib/node_modules/npm/bin/npx-cli.js "$root/usr/local/bin/npx"
cp -a "$headers" "$root/usr/local/include/node"
install -D -m 0644 /etc/ssl/certs/ca-certificates.crt "$root/etc/ssl/certs/ca-certificates.crt"
cp /etc/apt/sources.list.d/debian.sources "$root/etc/apt/sources.list.d/debian.sources" 2>/dev/null || true
rm -rf "$root"/var/cache/apt/archives/*.deb "$root"/var/lib/apt/lists/*

log "importing $BASE_IMAGE"
tar -C "$root" -c . | docker import \
  --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
  --change 'ENV NODE_EXTRA_CA_CERTS=/etc/ssl/certs/ca-certificates.crt' \
  --change 'CMD ["node"]' - "$BASE_IMAGE" >/dev/null
docker save -o "$TAR.tmp" "$BASE_IMAGE" && mv "$TAR.tmp" "$TAR"
echo "$BASE_IMAGE"
