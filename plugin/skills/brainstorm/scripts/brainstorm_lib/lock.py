"""One run at a time for each deliberation: a lock file beside its state file names the run that
holds it (pid and start time, so that a pid later given to another process does not count).

Two runs of one deliberation would add turns to the same thread and session and overwrite each
other's rounds; the second is refused instead, as the clients refuse a busy thread or session.
A lock whose holder is gone (killed, say) is taken over. The lock also names the claude process
the run started: a killed run leaves it running, driving the session with nobody reading its
answer, so the run that takes the lock over ends it (see stop_left_running).
"""
import json
import os
import signal
import time

from agent_bridge.jobs import is_alive, process_identity   # a pid and its start time: a reused pid is not the run
from agent_bridge.outcome import ClientError

TAKE_OVER_ATTEMPTS = 3


def lock_path_for(state_file):
    return os.path.splitext(state_file)[0] + ".lock"


def take_lock(state_file):
    """The lock of the deliberation kept in `state_file`; ClientError (exit 1) while a live run holds it."""
    path = lock_path_for(state_file)
    mine = {"pid": os.getpid(), "identity": process_identity(os.getpid()),
            "started": time.strftime("%Y-%m-%dT%H:%M:%S")}
    left_by = None
    for _ in range(TAKE_OVER_ATTEMPTS):
        if _create(path, mine):
            return Lock(path, mine, left_by)
        holder = _read(path)
        if holder and is_alive(holder["pid"], holder["identity"]):
            raise ClientError(f"{state_file} is busy: brainstorm (pid {holder['pid']}) is running it; "
                              "wait for it to end")
        left_by = holder or left_by
        _remove(path)   # its holder is gone
    raise ClientError(f"{state_file} is busy: another brainstorm keeps taking it; wait for it to end")


def stop_left_running(holder):
    """Ends the peer processes a gone holder started and left running (each leads a process group of its own)."""
    for peer in holder.get("peers", []):
        if is_alive(peer.get("pid"), peer.get("identity", "")):
            try:
                os.killpg(peer["pid"], signal.SIGKILL)
            except OSError:
                pass


class Lock:
    def __init__(self, path, holder, left_by=None):
        self.path = path
        self.holder = holder
        self.left_by = left_by   # the holder of the lock taken over from a gone run, or None

    def note_peer_process(self, pid):
        """Names in the lock a peer process this run started, for the run that takes the lock over if this
        one is killed."""
        identity = process_identity(pid)
        holder = dict(self.holder, peers=self.holder.get("peers", []) + [{"pid": pid, "identity": identity}])
        partial = f"{self.path}.{os.getpid()}.partial"
        with open(partial, "w", encoding="utf-8") as handle:
            json.dump(holder, handle)
        os.replace(partial, self.path)
        self.holder = holder

    def release(self):
        if _read(self.path) == self.holder:
            _remove(self.path)


def _create(path, holder):
    """Creates the lock file whole, holding `holder`, unless it exists: True when this call made it."""
    partial = f"{path}.{os.getpid()}.partial"
    with open(partial, "w", encoding="utf-8") as handle:
        json.dump(holder, handle)
    try:
        os.link(partial, path)   # fails if the lock exists; a reader never sees it half written
        return True
    except FileExistsError:
        return False
    finally:
        _remove(partial)


def _read(path):
    """The holder a lock file names, or None when it names none (unreadable, gone, not ours)."""
    try:
        with open(path, encoding="utf-8") as handle:
            holder = json.load(handle)
    except (OSError, ValueError):
        return None
    if isinstance(holder, dict) and isinstance(holder.get("pid"), int) and isinstance(holder.get("identity"), str):
        return holder
    return None


def _remove(path):
    try:
        os.remove(path)
    except OSError:
        pass
