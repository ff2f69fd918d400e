#!/usr/bin/env python3
"""claude-cli-client: ask the local `claude` CLI (stream-json) and get one result envelope.

Run with --help for the options. The work happens in the claude_client package beside this file.
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from claude_client.cli import main  # noqa: E402

if __name__ == "__main__":
    sys.exit(main())
