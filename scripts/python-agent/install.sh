#!/usr/bin/env bash
# Creates (or reuses) the venv `.venv-python-agent` with the example Python
# agent's pinned requirements (examples/python-agent/requirements.txt), for
# its integration and e2e tests. Idempotent: reinstalls only when the
# requirements file changed since the last install.
#   bash scripts/python-agent/install.sh
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
venv="${SURFACES_PYTHON_AGENT_VENV:-$root/.venv-python-agent}"
reqs="$root/examples/python-agent/requirements.txt"
py="$venv/bin/python"
stamp="$venv/.requirements.txt"

die() { echo "python-agent-install: ERROR: $*" >&2; exit 1; }

if [ -x "$py" ] && cmp -s "$reqs" "$stamp" && "$py" -c 'import websockets' 2>/dev/null; then
  echo "python-agent-install: requirements already in $venv"
  exit 0
fi

# The example uses websockets' asyncio API and modern typing: Python 3.10+.
base_py=""
for cand in python3.13 python3.12 python3.11 python3.10 python3; do
  if command -v "$cand" >/dev/null 2>&1 &&
     "$cand" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 10) else 1)' 2>/dev/null; then
    base_py="$cand"; break
  fi
done
[ -n "$base_py" ] || die "no Python >= 3.10 found on PATH"

if [ ! -x "$py" ]; then
  echo "python-agent-install: creating venv $venv with $($base_py --version)" >&2
  "$base_py" -m venv "$venv" ||
    die "'$base_py -m venv $venv' failed (on Debian/Ubuntu install the python3-venv package)"
fi

echo "python-agent-install: pip install -r examples/python-agent/requirements.txt" >&2
"$py" -m pip install --quiet --disable-pip-version-check -r "$reqs" >&2 ||
  die "'pip install -r $reqs' failed into $venv (a package index must be reachable)"
cp "$reqs" "$stamp"
echo "python-agent-install: installed $("$py" -c 'import websockets; print("websockets", websockets.__version__)') in $venv"
