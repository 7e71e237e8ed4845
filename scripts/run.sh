#!/usr/bin/env bash
# Runs a command with Node >= 22 and the dependencies in place:
#   scripts/run.sh vitest run
set -euo pipefail
# shellcheck source=env.sh
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
export PATH="$SURFACES_ROOT/node_modules/.bin:$PATH"
exec "$@"
