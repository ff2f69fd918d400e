#!/bin/sh
# Copies the package the clients share, agent_bridge, from its canonical home (codex-ws-client)
# into claude-cli-client and acp-client. tests/test_shared_modules.py fails when the copies differ.
set -eu
cd "$(dirname "$0")/.."
from=plugin/skills/codex-ws-client/scripts/agent_bridge
for to in plugin/skills/claude-cli-client/scripts/agent_bridge plugin/skills/acp-client/scripts/agent_bridge; do
  rm -rf "$to"
  mkdir -p "$to/cli"
  cp "$from"/*.py "$to"/
  cp "$from"/cli/*.py "$to"/cli/
done
