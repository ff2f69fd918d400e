"""The one place that finds the client skills installed beside this one and loads them.

It puts their `scripts` folders (and the codex skill's `_vendor`, its websocket-client) on
sys.path and imports `codex_client` and `claude_client`; after `load_clients()` the rest of
brainstorm imports those packages, and the shared core they carry (`agent_bridge`), by name.
acp-client is optional: only a council's ACP seats need it, through `load_acp_client()`.
"""
import importlib
import os
import sys

SKILLS_DIR = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
CLIENT_SKILLS = (("codex-ws-client", "codex_client"), ("claude-cli-client", "claude_client"))
ACP_SKILL = "acp-client"


class ClientsMissing(Exception):
    """A client skill is not installed beside brainstorm, or cannot be loaded (two skills of different
    releases, say). Status and exit code are the clients' for a peer that cannot be reached: their
    shared core, which names those, is what could not be had."""

    status = "connection_failed"
    exit_code = 3


def load_clients():
    """Imports codex_client and claude_client from their sibling skill folders; ClientsMissing if it cannot."""
    folders = []
    for skill, package in CLIENT_SKILLS:
        scripts = os.path.join(SKILLS_DIR, skill, "scripts")
        if not os.path.isfile(os.path.join(scripts, package, "__init__.py")):
            raise ClientsMissing(f"the {skill} skill is missing: brainstorm needs it installed beside it "
                                 f"(looked in {scripts}); install the three skills together")
        folders += [scripts, os.path.join(scripts, "_vendor")]
    for folder in folders:
        if os.path.isdir(folder) and folder not in sys.path:
            sys.path.append(folder)
    try:
        for _, package in CLIENT_SKILLS:
            importlib.import_module(package)
    except ImportError as error:   # e.g. the clients' check that both carry the same release of their core
        raise ClientsMissing(str(error)) from None


def load_acp_client():
    """The acp_client package from the acp-client skill beside brainstorm; ClientsMissing if it is not there
    or cannot be loaded."""
    scripts = os.path.join(SKILLS_DIR, ACP_SKILL, "scripts")
    if not os.path.isfile(os.path.join(scripts, "acp_client", "__init__.py")):
        raise ClientsMissing(f"the {ACP_SKILL} skill is missing: a gemini or acp seat needs it installed beside "
                             f"brainstorm (looked in {scripts})")
    if scripts not in sys.path:
        sys.path.append(scripts)
    try:
        return importlib.import_module("acp_client")
    except ImportError as error:
        raise ClientsMissing(str(error)) from None
