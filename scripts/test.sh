#!/usr/bin/env bash
# Runs the whole test suite on a fresh machine: scripts/setup.sh (a private virtualenv with
# the dev dependencies, the real peers from npm), then pytest.
#   scripts/test.sh                  the pinned peers (tests/peers/package.json)
#   scripts/test.sh --peers latest   the newest codex, claude and gemini releases (tests/peers-latest/)
# Other arguments go to pytest, e.g. scripts/test.sh -k repl -x
set -euo pipefail
cd "$(dirname "$0")/.."
export TEST_PEERS=pinned
if [ "${1:-}" = "--peers" ]; then
  case "${2:-}" in
    pinned|latest) TEST_PEERS=$2 ;;
    *) echo "scripts/test.sh: --peers takes pinned or latest" >&2; exit 2 ;;
  esac
  shift 2
fi
scripts/setup.sh
exec .venv/bin/python -m pytest "$@"
