#!/usr/bin/env bash
# Runs the whole test suite on a fresh machine: scripts/setup.sh (a private virtualenv with
# the dev dependencies, the real peers from npm), then pytest.
#   scripts/test.sh                  the pinned peers (tests/peers/package.json)
#   scripts/test.sh --peers latest   the newest codex, claude and gemini releases (tests/peers-latest/)
#   scripts/test.sh --extended       also the slow end-to-end variants and the test that binds 127.0.0.1:8765
# Other arguments go to pytest, e.g. scripts/test.sh -k repl -x
set -euo pipefail
cd "$(dirname "$0")/.."
export TEST_PEERS=pinned
while [ $# -gt 0 ]; do
  case "$1" in
    --peers)
      case "${2:-}" in
        pinned|latest) TEST_PEERS=$2 ;;
        *) echo "scripts/test.sh: --peers takes pinned or latest" >&2; exit 2 ;;
      esac
      shift 2 ;;
    --extended) export TEST_EXTENDED=1 TEST_DEFAULT_PORT=1; shift ;;
    *) break ;;
  esac
done
scripts/setup.sh
exec .venv/bin/python -m pytest "$@"
