#!/usr/bin/env bash
# Installs the system packages the tests need when they are missing, so
# .ci/run passes on a fresh machine. Idempotent and quiet when all is there.
set -euo pipefail
need=()
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || need+=(postgresql)
command -v openssl >/dev/null || need+=(openssl)
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
