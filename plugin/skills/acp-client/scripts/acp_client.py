#!/usr/bin/env python3
"""acp-client: ask an Agent Client Protocol agent (Gemini CLI by default) and get one result envelope.

Run with --help for the options. The work happens in the acp_client package beside this file.
"""
import os
import sys

SCRIPTS = os.path.dirname(os.path.abspath(__file__))
# Run from a clone of the repository, Python's bytecode goes to the clone's git-ignored .pycache/:
# an install from the clone copies the plugin folder whole, __pycache__ folders too.
PLUGIN_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(SCRIPTS)))
CLONE = os.path.dirname(PLUGIN_ROOT)
if (sys.pycache_prefix is None and os.path.isfile(os.path.join(PLUGIN_ROOT, ".claude-plugin", "plugin.json"))
        and os.path.isfile(os.path.join(CLONE, ".claude-plugin", "marketplace.json"))):
    sys.pycache_prefix = os.path.join(CLONE, ".pycache")
sys.path.insert(0, SCRIPTS)

from acp_client.cli import main  # noqa: E402

if __name__ == "__main__":
    sys.exit(main())
