#!/usr/bin/env bash
# See it work, offline: installs what it needs (scripts/setup.sh), starts the real pinned
# codex app-server and claude CLI against fake model APIs on 127.0.0.1, runs each client
# once with --json, prints the envelopes, and stops everything it started.
set -euo pipefail
cd "$(dirname "$0")/.."
echo "== preparing (virtualenv, pinned peers)"
scripts/setup.sh
exec .venv/bin/python scripts/demo.py
