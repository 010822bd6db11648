#!/usr/bin/env bash
# Installs the system packages the tests need when they are missing, so
# .ci/run passes on a fresh machine. Idempotent and quiet when all is there.
set -euo pipefail
need=()
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || need+=(postgresql)
command -v openssl >/dev/null || need+=(openssl)
# headless browser for the mesh page test (cmd/hsfleet demo_browser_test.go)
command -v chromium >/dev/null || need+=(chromium)
# make interop: the reference Python agents run on Debian's python3.
for p in python3 python3-cryptography python3-aiosqlite python3-dotenv python3-typing-extensions; do
  dpkg -s "$p" >/dev/null 2>&1 || need+=("$p")
done
# The store tests run through a real PgBouncer (transaction pooling).
command -v pgbouncer >/dev/null || [ -x /usr/sbin/pgbouncer ] || need+=(pgbouncer)
if [ ${#need[@]} -gt 0 ]; then
  echo "ci-deps: installing ${need[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi
# initdb refuses root; the test harness runs it as this user.
id postgres >/dev/null 2>&1 || useradd --system --no-create-home postgres
