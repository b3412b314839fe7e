#!/usr/bin/env bash
# SoftHSM2: a software PKCS#11 token for the HSM unseal tests (test/hsm). Tests point SOFTHSM2_CONF
# at their own temporary token directory; the system token directory is never used.
set -euo pipefail
if ! command -v softhsm2-util >/dev/null; then
  echo "installing softhsm2 from Debian"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends softhsm2 >/dev/null
fi
echo "softhsm2: $(softhsm2-util --version)"
