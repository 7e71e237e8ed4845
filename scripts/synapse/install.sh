#!/usr/bin/env bash
# Creates (or reuses) the project-local Synapse venv `.venv-synapse` that the
# e2e tests and `npm run stack` start homeservers from, with the PostgreSQL and
# Redis extras the worker topology needs (src/dev/synapse-topology.ts).
# Idempotent: a venv that already imports synapse and its extras is left alone;
# one without the extras gets them for its installed version. Prints the version.
#   bash scripts/synapse/install.sh
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
venv="${SURFACES_SYNAPSE_VENV:-$root/.venv-synapse}"
py="$venv/bin/python"

die() { echo "synapse-install: ERROR: $*" >&2; exit 1; }

version() { "$py" -c 'import synapse; print(synapse.__version__.split(" ")[0])' 2>/dev/null; }
extras_ok() { "$py" -c 'import psycopg2, txredisapi, hiredis' 2>/dev/null; }
# psycopg2 for PostgreSQL, txredisapi + hiredis for worker replication over Redis.
extras="postgres,redis"

if [ -x "$py" ] && v=$(version); then
  if extras_ok; then
    echo "synapse-install: Synapse $v already in $venv"
    exit 0
  fi
  echo "synapse-install: adding the [$extras] extras to Synapse $v" >&2
  "$py" -m pip install --quiet "matrix-synapse[$extras]==$v" >&2 ||
    die "'pip install matrix-synapse[$extras]==$v' failed into $venv"
  extras_ok || die "the [$extras] extras installed but do not import in $venv"
  echo "synapse-install: Synapse $v with [$extras] in $venv"
  exit 0
fi

# shellcheck source=../lib/python-venv.sh
source "$root/scripts/lib/python-venv.sh"
ensure_venv "$venv" "synapse-install" "Synapse needs 3.10–3.13"

echo "synapse-install: pip install matrix-synapse[$extras] (this takes a minute or two)" >&2
"$py" -m pip install --quiet --upgrade pip >&2 || echo "synapse-install: pip self-upgrade failed; continuing" >&2
"$py" -m pip install --quiet "matrix-synapse[$extras]" >&2 ||
  die "'pip install matrix-synapse[$extras]' failed into $venv (see pip's output above; a package index must be reachable)"
extras_ok || die "matrix-synapse[$extras] installed but psycopg2/txredisapi/hiredis do not import in $venv"

v=$(version) || die "matrix-synapse installed but 'import synapse' fails in $venv"
echo "synapse-install: Synapse $v installed in $venv"
