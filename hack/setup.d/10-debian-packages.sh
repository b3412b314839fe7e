#!/usr/bin/env bash
# Debian packages the test suites run for real: Redis (nonce cache and rate limits shared by
# gateway replicas), OpenSSL (an independent check of the dev PKI) and Chromium (the console's
# browser tests drive it headless with playwright-core; playwright's own browser downloads are not used).
set -euo pipefail
need=()
command -v redis-server >/dev/null || need+=(redis-server)
command -v openssl >/dev/null || need+=(openssl)
command -v chromium >/dev/null || need+=(chromium)
if [ ${#need[@]} -gt 0 ]; then
  echo "installing ${need[*]} from Debian"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi
# The packaged service is not what tests use: they start their own instances on loopback ports.
echo "redis-server: $(redis-server --version | awk '{print $3}')"
echo "chromium: $(chromium --version 2>/dev/null | awk '{print $2}')"
