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

# shellcheck source=../lib/python-venv.sh
source "$root/scripts/lib/python-venv.sh"
ensure_venv "$venv" "python-agent-install" "the example uses modern typing"

echo "python-agent-install: pip install -r examples/python-agent/requirements.txt" >&2
"$py" -m pip install --quiet --disable-pip-version-check -r "$reqs" >&2 ||
  die "'pip install -r $reqs' failed into $venv (a package index must be reachable)"
cp "$reqs" "$stamp"
echo "python-agent-install: installed $("$py" -c 'import websockets; print("websockets", websockets.__version__)') in $venv"
