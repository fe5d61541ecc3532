#!/usr/bin/env bash
# Make sure the PostgreSQL and Redis that the test suite uses are running on 127.0.0.1
# (installing them from Debian's packages if they are missing). Idempotent.
#   PostgreSQL: 127.0.0.1:5432, user postgres, trust or peer-free local auth
#   Redis:      127.0.0.1:6379, no persistence
set -euo pipefail
SUDO=""
[ "$(id -u)" -ne 0 ] && SUDO="sudo"

pg_up() { pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null; }
redis_up() { redis-cli -h 127.0.0.1 -p 6379 ping 2>/dev/null | grep -q PONG; }

if ! command -v pg_ctlcluster >/dev/null || ! command -v redis-server >/dev/null; then
  echo "Installing PostgreSQL and Redis from Debian's packages for the test suite..."
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq postgresql redis-server >/dev/null
  # A fresh cluster asks for a password over TCP; the tests connect as postgres on loopback.
  for hba in /etc/postgresql/*/main/pg_hba.conf; do
    $SUDO sed -i '1i host all postgres 127.0.0.1/32 trust' "$hba"
  done
fi

if ! pg_up; then
  version=$(ls /etc/postgresql | sort -V | tail -n 1)
  $SUDO pg_ctlcluster --skip-systemctl-redirect "$version" main start || true
fi
if ! redis_up; then
  $SUDO mkdir -p /var/lib/redis /var/log/redis
  $SUDO redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" \
    --appendonly no --dir /var/lib/redis --logfile /var/log/redis/ci.log
fi

for _ in $(seq 1 100); do
  if pg_up && redis_up; then
    exit 0
  fi
  sleep 0.1
done
echo "PostgreSQL or Redis did not start: the cluster-mode tests need both on 127.0.0.1." >&2
pg_up || echo "  PostgreSQL 127.0.0.1:5432 is not answering" >&2
redis_up || echo "  Redis 127.0.0.1:6379 is not answering" >&2
exit 1
