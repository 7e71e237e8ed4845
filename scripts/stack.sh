#!/usr/bin/env bash
# `npm run stack`: the local stack (Synapse + reference agent + bot on
# 127.0.0.1). Installs the Synapse venv on first use. Expects Node 22 on PATH
# (scripts/run.sh). `--smoke` plays the demo user once and exits.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
bash scripts/synapse/install.sh >&2
exec tsx src/main.ts stack "$@"
