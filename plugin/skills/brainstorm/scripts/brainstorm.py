#!/usr/bin/env python3
"""brainstorm: Codex and Claude deliberate on a topic, round by round, through the two client skills.

Run with --help for the options. The work happens in the brainstorm_lib package beside this file.
"""
import json
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
sys.path.insert(0, SCRIPTS)   # Python puts it there too, except under -P or -I

from brainstorm_lib.clients import ClientsMissing, load_clients  # noqa: E402
from brainstorm_lib.record import new_record  # noqa: E402


def main(argv):
    """Loads the two clients, then runs; without them, says why in one line (and the envelope with --json)."""
    try:
        load_clients()
    except ClientsMissing as missing:
        print(f"brainstorm: error: {missing}", file=sys.stderr, flush=True)
        if "--json" in argv:
            print(json.dumps(dict(new_record(None, None), status=missing.status, exit_code=missing.exit_code,
                                  error=str(missing))), flush=True)
        return missing.exit_code
    from brainstorm_lib.cli import main as run   # imports the clients and their shared core, found above
    return run(argv)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
