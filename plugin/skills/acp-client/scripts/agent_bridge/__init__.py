"""The shared core of codex-ws-client and claude-cli-client: the envelope and its exit codes, the
errors, the turn interface, deadlines, tracing, reviews, job records. Its `cli` subpackage holds
the command-line pieces both clients share; nothing outside a command line imports it.

Both skills carry this package as identical copies (a test checks), under one name, so a
program that imports both clients gets one copy: one `ClientError`, one `Envelope`. That copy
must be of the release of both: each client calls `check_core_beside(__file__)` when imported.
"""
from __future__ import annotations

import os
import re

CORE_VERSION = "1.1.0"   # the release this copy came with (that of the skills: a test checks)


def check_core_beside(client_file: str) -> None:
    """Raises ImportError unless this agent_bridge is of the release of the copy that ships beside
    the client whose `__init__.py` is `client_file`. Two skills of different releases in one
    process would otherwise share whichever copy was imported first."""
    here = os.path.dirname(os.path.abspath(__file__))
    scripts = os.path.dirname(os.path.dirname(os.path.abspath(client_file)))
    beside = os.path.join(scripts, "agent_bridge")
    if os.path.normcase(beside) == os.path.normcase(here):
        return
    try:
        with open(os.path.join(beside, "__init__.py"), encoding="utf-8") as file:
            found = re.search(r'^CORE_VERSION = "([^"]*)"', file.read(), re.MULTILINE)
    except OSError:
        return   # no copy beside it (not the skills' layout): nothing to compare with
    wanted = found.group(1) if found else "unknown"
    if wanted != CORE_VERSION:
        client = os.path.basename(os.path.dirname(os.path.abspath(client_file)))
        raise ImportError(f"{client} in {scripts} needs agent_bridge {wanted} (its own copy, beside it), but this "
                          f"process already has agent_bridge {CORE_VERSION} from {here}: skills of two releases; "
                          "install both from one release")
