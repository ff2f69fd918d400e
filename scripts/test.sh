#!/usr/bin/env bash
# Runs the whole test suite on a fresh machine: scripts/setup.sh (a private virtualenv with
# the dev dependencies, the pinned real peers from npm), then pytest.
# Extra arguments go to pytest, e.g. scripts/test.sh -k repl -x
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
exec .venv/bin/python -m pytest "$@"
