#!/bin/sh
# Copies the modules both clients share from their canonical home (codex-ws-client)
# into claude-cli-client. tests/test_shared_modules.py fails when the copies differ.
set -eu
cd "$(dirname "$0")/.."
from=skills/codex-ws-client/scripts/codex_client
to=skills/claude-cli-client/scripts/claude_client
for module in outcome.py prompt_input.py trace.py render.py repl.py inbox.py shapes.py call_limit.py \
    turns.py driver.py; do
  cp "$from/$module" "$to/$module"
done
