#!/usr/bin/env python3
"""codex-ws-client: talk to a running `codex app-server` over WebSocket.

Run with --help for the options. The work happens in the codex_client package beside this file.
"""
import os
import sys

SCRIPTS = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, SCRIPTS)
# The installer puts websocket-client here, so an installed skill needs no pip step.
VENDORED = os.path.join(SCRIPTS, "_vendor")
if os.path.isdir(VENDORED):
    sys.path.insert(1, VENDORED)

from codex_client.cli import main  # noqa: E402

if __name__ == "__main__":
    sys.exit(main())
