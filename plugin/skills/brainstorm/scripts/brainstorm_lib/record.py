"""The record of a deliberation: the envelope --json prints and the state file holds.

Standard library only: a run that cannot load the clients still prints one.
"""

SIDES = ("codex", "claude")


def new_record(topic, style, as_peer=None):
    return {"status": "inProgress", "exit_code": None, "topic": topic, "style": style, "as_peer": as_peer,
            "rounds": [], "conclusions": None, "earlier_conclusions": [], "converged": False, "codex_thread_id": None,
            "claude_session_id": None, "transcript": None, "state_file": None,
            "totals": {"input_tokens": 0, "output_tokens": 0, "cost_usd": 0.0, "elapsed_ms": 0}}


def all_conclusions(record):
    """Every set of conclusions, oldest first."""
    return record["earlier_conclusions"] + ([record["conclusions"]] if record["conclusions"] else [])
