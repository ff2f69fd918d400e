#!/usr/bin/env bash
# Runs the whole test suite on a fresh machine: a private virtualenv with the dev
# dependencies, the pinned real peers (codex, claude) from npm, then pytest.
# Extra arguments go to pytest, e.g. scripts/test.sh -k repl -x
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

exec .venv/bin/python -m pytest "$@"
