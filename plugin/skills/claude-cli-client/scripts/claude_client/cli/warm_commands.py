"""--sessions, --stop-warm and --cancel SESSION_ID: the warm sessions the keepers hold (see warm.py)."""
import json
import time

from ..warm import held_memory_bytes, idle_seconds, kept_sessions, stop_keeper

MEBIBYTE = 1 << 20


def show_sessions(as_json):
    """Lists the warm sessions, oldest first: one JSON object with --json, else a line each."""
    now = time.time()
    sessions = [{"session_id": record.get("session_id"), "cwd": record.get("cwd"),
                 "busy": bool(record.get("busy")), "idle_seconds": idle_seconds(record, now),
                 "keep_warm_seconds": record.get("keep_warm"), "memory_bytes": held_memory_bytes(record)}
                for record in kept_sessions()]
    if as_json:
        print(json.dumps({"sessions": sessions}))
    elif not sessions:
        print("no warm sessions")
    for session in [] if as_json else sessions:
        state = "busy" if session["busy"] else f"idle {session['idle_seconds']}s of {session['keep_warm_seconds']:g}s"
        print(f"{session['session_id'] or '(not named yet)'}  {state}  "
              f"{session['memory_bytes'] / MEBIBYTE:.0f} MiB  {session['cwd']}")
    return 0


def is_warm(session_id):
    return any(record.get("session_id") == session_id for record in kept_sessions())


def stop_warm(session_id, as_json):
    """Ends the warm claude of `session_id` (True: of every session); prints the sessions stopped. A turn
    running in one is interrupted first: its caller gets it as interrupted (see keeper.py)."""
    stopped = []
    for record in kept_sessions():
        if session_id is True or record.get("session_id") == session_id:
            stop_keeper(record)
            stopped.append(record.get("session_id"))
    if as_json:
        print(json.dumps({"stopped": stopped}))
    else:
        print(f"stopped {len(stopped)} warm session(s)" + "".join(f"\n{each}" for each in stopped if each))
    return 0
