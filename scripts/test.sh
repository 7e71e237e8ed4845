#!/usr/bin/env bash
# `npm test`: all test tiers (unit, integration, e2e against a real Synapse
# and the example Python agent, whose venv is installed here too), then a
# check that the Synapse-backed tests really ran and nothing was skipped.
# Extra arguments go to `vitest run` (a filtered run only reports on e2e
# instead of requiring it). Expects Node 22 on PATH (scripts/run.sh).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

bash scripts/synapse/install.sh
bash scripts/python-agent/install.sh

report=.vitest-report.json
rm -f "$report"
status=0
vitest run --reporter=default --reporter=json --outputFile.json="$report" "$@" || status=$?

require_e2e=$([ "$#" -eq 0 ] && echo 1 || echo 0)
SURFACES_REQUIRE_E2E="${SURFACES_REQUIRE_E2E:-$require_e2e}" node scripts/check-e2e-ran.mjs "$report" || {
  [ "$status" -ne 0 ] || status=1
}
exit "$status"
