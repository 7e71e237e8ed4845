#!/usr/bin/env bash
# Creates (or reuses) the project-local Synapse venv `.venv-synapse` that the
# e2e tests and `npm run stack` start homeservers from. Idempotent: a venv that
# already imports synapse is left alone. Prints the installed version.
#   bash scripts/synapse/install.sh
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
venv="${SURFACES_SYNAPSE_VENV:-$root/.venv-synapse}"
py="$venv/bin/python"

die() { echo "synapse-install: ERROR: $*" >&2; exit 1; }

version() { "$py" -c 'import synapse; print(synapse.__version__)' 2>/dev/null; }

if [ -x "$py" ] && v=$(version); then
  echo "synapse-install: Synapse $v already in $venv"
  exit 0
fi

# Synapse's wheels (with their compiled Rust part) need Python 3.10+.
base_py=""
for cand in python3.13 python3.12 python3.11 python3.10 python3; do
  if command -v "$cand" >/dev/null 2>&1 &&
     "$cand" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 10) else 1)' 2>/dev/null; then
    base_py="$cand"; break
  fi
done
[ -n "$base_py" ] || die "no Python >= 3.10 found on PATH (Synapse needs 3.10–3.13)"

if [ ! -x "$py" ]; then
  echo "synapse-install: creating venv $venv with $($base_py --version)" >&2
  "$base_py" -m venv "$venv" ||
    die "'$base_py -m venv $venv' failed (on Debian/Ubuntu install the python3-venv package)"
fi

echo "synapse-install: pip install matrix-synapse (this takes a minute or two)" >&2
"$py" -m pip install --quiet --upgrade pip >&2 || echo "synapse-install: pip self-upgrade failed; continuing" >&2
"$py" -m pip install --quiet matrix-synapse >&2 ||
  die "'pip install matrix-synapse' failed into $venv (see pip's output above; a package index must be reachable)"

v=$(version) || die "matrix-synapse installed but 'import synapse' fails in $venv"
echo "synapse-install: Synapse $v installed in $venv"
