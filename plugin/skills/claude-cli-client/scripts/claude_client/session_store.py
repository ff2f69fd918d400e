"""Where claude keeps its sessions, so a session is resumed from the directory it was made in.

claude only finds a session from its original directory; it stores each one as
<config dir>/projects/<the directory, with / as ->/<session id>.jsonl, whose
lines carry the "cwd".
"""
from __future__ import annotations

import glob
import json
import os
from typing import Optional

from agent_bridge.outcome import BadArguments, TurnFailed


def claude_config_dir() -> str:
    return os.environ.get("CLAUDE_CONFIG_DIR") or os.path.join(os.path.expanduser("~"), ".claude")


def find_session_cwd(session_id: str) -> str:
    """The directory session `session_id` was created in; TurnFailed if no such session exists."""
    if not session_id or any(c in session_id for c in "/\\*?[]"):
        raise BadArguments(f"{session_id!r} is not a session id", setting="session_id")
    pattern = os.path.join(glob.escape(claude_config_dir()), "projects", "*", f"{session_id}.jsonl")
    for path in glob.glob(pattern):
        cwd = _cwd_recorded_in(path)
        if cwd:
            return cwd
    raise TurnFailed(f"no claude session {session_id} was found under {claude_config_dir()}; "
                     "it may belong to another user or machine, or never have been saved")


def _cwd_recorded_in(path: str) -> Optional[str]:
    try:
        with open(path, encoding="utf-8") as handle:
            for line in handle:
                try:
                    record = json.loads(line)
                except ValueError:
                    continue
                if isinstance(record, dict) and isinstance(record.get("cwd"), str):
                    return record["cwd"]
    except OSError:
        return None
    return None
