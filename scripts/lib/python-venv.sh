#!/usr/bin/env bash
# Sourced by the venv install scripts: finds a Python >= 3.10 and creates a
# venv with it if none exists yet.
#   ensure_venv <venv dir> <tag for messages> [why 3.10]
ensure_venv() {
  local venv="$1" tag="$2" why="${3:-}" base_py="" cand
  [ -x "$venv/bin/python" ] && return 0
  for cand in python3.13 python3.12 python3.11 python3.10 python3; do
    if command -v "$cand" >/dev/null 2>&1 &&
       "$cand" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 10) else 1)' 2>/dev/null; then
      base_py="$cand"; break
    fi
  done
  if [ -z "$base_py" ]; then
    echo "$tag: ERROR: no Python >= 3.10 found on PATH${why:+ ($why)}" >&2
    exit 1
  fi
  echo "$tag: creating venv $venv with $($base_py --version)" >&2
  "$base_py" -m venv "$venv" || {
    echo "$tag: ERROR: '$base_py -m venv $venv' failed (on Debian/Ubuntu install the python3-venv package)" >&2
    exit 1
  }
}
