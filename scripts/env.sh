#!/usr/bin/env bash
# Sourced by scripts/run.sh and .ci/run: puts a Node >= 22 on PATH (the npm
# package node@22 when the machine's own Node is older, because matrix-js-sdk
# 43 needs Node 22) and installs the npm dependencies when they are missing or
# stale. Idempotent and quiet when there is nothing to do.
SURFACES_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
NODE_MIN_MAJOR=22

node_major() { "${1:-node}" -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0; }

if [ "$(node_major)" -lt "$NODE_MIN_MAJOR" ]; then
  tools="$SURFACES_ROOT/.tools/node$NODE_MIN_MAJOR"
  bin_dir=$(ls -d "$tools"/node_modules/node/node_modules/node-*/bin 2>/dev/null | head -n1 || true)
  if [ -z "$bin_dir" ] || [ "$(node_major "$bin_dir/node")" -lt "$NODE_MIN_MAJOR" ]; then
    echo "surfaces: system Node is $(node --version 2>/dev/null || echo absent); installing node@$NODE_MIN_MAJOR into .tools/" >&2
    mkdir -p "$tools"
    npm install --prefix "$tools" --no-save --no-package-lock "node@$NODE_MIN_MAJOR" >&2
    bin_dir=$(ls -d "$tools"/node_modules/node/node_modules/node-*/bin | head -n1)
  fi
  export PATH="$bin_dir:$PATH"
  # node-gyp (better-sqlite3 fallback build) finds Node 22's headers here
  # instead of downloading them.
  export npm_config_nodedir="$(dirname "$bin_dir")"
fi

stamp="$SURFACES_ROOT/node_modules/.surfaces-lock-stamp"
if [ ! -f "$stamp" ] || ! cmp -s "$SURFACES_ROOT/package-lock.json" "$stamp"; then
  if [ -d "$SURFACES_ROOT/node_modules" ]; then
    # An existing tree is brought in line without wiping it (processes may be using it).
    echo "surfaces: package-lock.json changed; npm install with Node $(node --version)" >&2
    (cd "$SURFACES_ROOT" && npm install --no-audit --no-fund >&2)
  else
    echo "surfaces: installing npm dependencies (npm ci) with Node $(node --version)" >&2
    (cd "$SURFACES_ROOT" && npm ci --no-audit --no-fund >&2)
  fi
  cp "$SURFACES_ROOT/package-lock.json" "$stamp"
fi
