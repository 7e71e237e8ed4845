#!/usr/bin/env bash
# `npm run lint`: ESLint with typescript-eslint's type-checked rules
# (eslint.config.js). The linter lives in tools/lint/ with its own lock file,
# because typescript-eslint needs TypeScript's JS API (TypeScript 6) while the
# project compiles with TypeScript 7; this installs it when missing or stale.
# Expects Node 22 on PATH (scripts/run.sh). Extra arguments go to eslint.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

lint_dir=tools/lint
stamp="$lint_dir/node_modules/.surfaces-lock-stamp"
if [ ! -f "$stamp" ] || ! cmp -s "$lint_dir/package-lock.json" "$stamp"; then
  echo "lint: installing ESLint into $lint_dir (npm ci)" >&2
  (cd "$lint_dir" && npm ci --no-audit --no-fund >&2)
  cp "$lint_dir/package-lock.json" "$stamp"
fi
exec "$lint_dir/node_modules/.bin/eslint" --max-warnings 0 "$@" .
