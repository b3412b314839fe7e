#!/usr/bin/env bash
# MariaDB from Debian for the gateway's MySQL dialect tests. The packaged service is not used:
# gateway/db/mysql.test.ts starts its own mariadbd on a loopback port in a temporary datadir.
set -euo pipefail
if ! command -v mariadbd >/dev/null && [ ! -x /usr/sbin/mariadbd ]; then
  echo "installing mariadb-server from Debian"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends mariadb-server >/dev/null
  # The package starts its own service; tests never use it.
  if command -v systemctl >/dev/null && systemctl is-active --quiet mariadb 2>/dev/null; then systemctl stop mariadb || true; fi
fi
echo "mariadbd: $(/usr/sbin/mariadbd --version | awk '{print $3}')"
