#!/usr/bin/env bash
# Makes sure this machine has what Synapse's worker topology needs
# (src/dev/synapse.ts, topology "workers"): nginx and redis-server binaries
# (each test run starts a private Redis and nginx of its own) and a running
# PostgreSQL that accepts `psql -h 127.0.0.1 -U postgres` (each run creates
# and drops its own database). Installs missing Debian packages with apt-get
# (needs root) and starts a stopped PostgreSQL and the shared Redis. Idempotent.
#   bash scripts/synapse/services.sh
set -euo pipefail

log() { echo "synapse-services: $*" >&2; }
die() { echo "synapse-services: ERROR: $*" >&2; exit 1; }

pg_host="${SURFACES_PG_HOST:-127.0.0.1}"
pg_port="${SURFACES_PG_PORT:-5432}"
pg_user="${SURFACES_PG_USER:-postgres}"

missing=()
command -v nginx >/dev/null 2>&1 || [ -x /usr/sbin/nginx ] || missing+=(nginx)
command -v redis-server >/dev/null 2>&1 || missing+=(redis-server)
command -v psql >/dev/null 2>&1 || missing+=(postgresql-client)
command -v pg_ctlcluster >/dev/null 2>&1 || missing+=(postgresql)
if [ "${#missing[@]}" -gt 0 ]; then
  [ "$(id -u)" -eq 0 ] || die "missing ${missing[*]}; install them (apt-get install ${missing[*]}) or run as root"
  log "apt-get install ${missing[*]}"
  apt-get update -qq >&2
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2 ||
    die "apt-get install ${missing[*]} failed"
fi
# Debian's nginx lives in /usr/sbin, which a non-login PATH may lack.
command -v nginx >/dev/null 2>&1 || export PATH="$PATH:/usr/sbin"

pg_ready() { psql -h "$pg_host" -p "$pg_port" -U "$pg_user" -d postgres -tAc 'SELECT 1' >/dev/null 2>&1; }
if ! pg_ready; then
  log "starting PostgreSQL"
  for version in $(ls /etc/postgresql 2>/dev/null); do
    pg_ctlcluster --skip-systemctl-redirect "$version" main start >&2 || true
  done
  for _ in $(seq 1 30); do pg_ready && break; sleep 1; done
  pg_ready || die "PostgreSQL does not accept 'psql -h $pg_host -p $pg_port -U $pg_user' (trust auth expected)"
fi

if ! redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1; then
  log "starting Redis on 127.0.0.1:6379"
  mkdir -p /var/lib/redis /var/log/redis
  redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" --appendonly no \
    --dir /var/lib/redis --logfile /var/log/redis/ci.log >&2 || log "could not start the shared Redis (tests use their own)"
fi
log "nginx $(nginx -v 2>&1 | sed 's/.*\///'), $(redis-server --version | awk '{print $3}'), PostgreSQL $(psql -h "$pg_host" -p "$pg_port" -U "$pg_user" -d postgres -tAc 'SHOW server_version')"
