#!/usr/bin/env bash
# Prepares a fresh machine for the tests and the demo: a private virtualenv (.venv) with the
# dev dependencies, and the pinned real peers (tests/peers/package.json) from npm.
# Both folders are git-ignored. Safe to run again: it only installs what is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

python=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  "$python" -m venv .venv
fi
.venv/bin/python -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt

peers=tests/peers
if ! "$peers/node_modules/.bin/codex" --version 2>/dev/null | grep -q "0.169.0" ||
   ! "$peers/node_modules/.bin/claude" --version 2>/dev/null | grep -q "2.1.197"; then
  npm install --prefix "$peers" --no-package-lock --no-audit --no-fund --loglevel=error
fi
