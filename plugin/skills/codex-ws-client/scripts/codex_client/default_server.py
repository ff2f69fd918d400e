"""Which app-server a Session given no URI (a command line without --uri or $CODEX_APP_SERVER_URI) talks to.

In order: a server answering at ws://127.0.0.1:8765 (one started by hand, or by --spawn); the
per-user daemon's control socket ($CODEX_HOME/app-server-control/app-server-control.sock);
else the daemon, started with `codex app-server daemon start`. The daemon keeps running, so
later calls reuse it; `stop_daemon()` (the command line's `--stop-daemon`) stops it and the helper
process it leaves behind.
"""
from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import time
from typing import Any, Callable, Dict, List, Optional, Tuple

from agent_bridge.deadline import Deadline

from .client import DEFAULT_URI
from agent_bridge.outcome import ConnectionFailed, TimedOut
from .transport import NothingListening, cannot_run_codex, codex_home, default_control_socket

LISTENING, DAEMON, STARTED_DAEMON = "listening", "daemon", "started-daemon"
# The first start copies the codex binary under $CODEX_HOME/packages/: seconds, not minutes.
DAEMON_START_SECONDS = 120
# `daemon stop` lets running turns end first.
DAEMON_STOP_SECONDS = 120
SOCKET_WAIT_SECONDS = 10
LEFTOVER_GRACE_SECONDS = 5
FIRST_START_COST = "about 400 MB copied into {packages}, 10-15 s"
WRITABLE_HOME = "set CODEX_HOME to a folder you can write to (or fix this one)"


def daemon_uri() -> str:
    return "unix://" + default_control_socket()


def connect_default(connect: Callable[[str], Any], codex_bin: str, tracer: Any,
                    deadline: Optional[Deadline] = None) -> Tuple[Any, Dict[str, str]]:
    """connect(uri) opens a client. Returns (client, {"uri", "via"}) for the server used. `deadline` (a
    Deadline, or None) bounds starting the daemon."""
    for uri, via in ((DEFAULT_URI, LISTENING), (daemon_uri(), DAEMON)):
        try:
            client = connect(uri)
        except NothingListening:
            tracer.info(f"nothing answers at {uri}")
            continue
        tracer.info(f"using {uri} ({via})")
        return client, {"uri": uri, "via": via}
    packages = os.path.join(codex_home(), "packages")
    can_start = shutil.which(codex_bin) and not codex_home_problem()   # else start_daemon says why not
    if can_start and not os.path.isdir(packages):
        tracer.warn("starting the codex app-server daemon for the first time on this CODEX_HOME: "
                    + FIRST_START_COST.format(packages=packages))
    uri = "unix://" + start_daemon(codex_bin, deadline.bound(DAEMON_START_SECONDS) if deadline
                                   else DAEMON_START_SECONDS)
    tracer.warn(f"started the codex app-server daemon at {uri} for this and later calls; it keeps running "
                "until it is stopped")
    wait = deadline.bound(SOCKET_WAIT_SECONDS) if deadline else SOCKET_WAIT_SECONDS
    return _connect_when_listening(connect, uri, wait), {"uri": uri, "via": STARTED_DAEMON}


def start_daemon(codex_bin: str, seconds: Optional[float] = DAEMON_START_SECONDS) -> str:
    """Runs `codex app-server daemon start` (a no-op when it runs already); returns its socket path."""
    try:
        done = subprocess.run([codex_bin, "app-server", "daemon", "start"], stdin=subprocess.DEVNULL,
                              capture_output=True, text=True, timeout=seconds)
    except OSError as error:
        raise cannot_run_codex(codex_bin, error, "start the codex app-server daemon") from None
    except subprocess.TimeoutExpired:
        raise TimedOut(f"`{codex_bin} app-server daemon start` did not finish "
                       f"within {seconds:g}s") from None
    status = _last_json_line(done.stdout)
    if done.returncode != 0 or not status.get("socketPath"):
        way_out = f"; {WRITABLE_HOME}" if codex_home_problem() else ""
        raise ConnectionFailed(f"`{codex_bin} app-server daemon start` failed (exit {done.returncode}): "
                               f"{codex_error(done.stderr)}{way_out}")
    return status["socketPath"]


def codex_error(stderr: str) -> str:
    """codex's own account of why it failed: its `Error:` line with the causes under it, without the
    backtrace that follows (else the last line it wrote)."""
    lines = [line.strip() for line in stderr.splitlines() if line.strip()]
    start = next((index for index, line in enumerate(lines) if line.startswith("Error: ")), None)
    if start is None:
        return lines[-1] if lines else "no output"
    account = []
    for line in lines[start:]:
        if line.startswith("Stack backtrace:"):
            break
        if line != "Caused by:":
            account.append(line)
    return ": ".join(account)[len("Error: "):]


def codex_home_problem() -> Optional[str]:
    """Why the daemon could not keep its state under $CODEX_HOME, or None: the nearest existing folder
    on the way there must be a folder this user can write to."""
    home = codex_home()
    existing = home
    while not os.path.exists(existing):
        existing = os.path.dirname(existing)
    if not os.path.isdir(existing):
        return f"CODEX_HOME {home} cannot be created: {existing} is not a folder; {WRITABLE_HOME}"
    if not os.access(existing, os.W_OK | os.X_OK):
        return f"CODEX_HOME {home} is not writable ({existing} refuses writes); {WRITABLE_HOME}"
    return None


def stop_daemon(codex_bin: str) -> Dict[str, Any]:
    """Stops the daemon of $CODEX_HOME with `codex app-server daemon stop` (which lets running turns end),
    then the processes of it still running (its pid-update-loop outlives a stop). Without codex on PATH
    the daemon's own copy of codex stops it. Returns what it did."""
    if not shutil.which(codex_bin) and os.access(managed_codex(), os.X_OK):
        codex_bin = managed_codex()
    try:
        done = subprocess.run([codex_bin, "app-server", "daemon", "stop"], stdin=subprocess.DEVNULL,
                              capture_output=True, text=True, timeout=DAEMON_STOP_SECONDS)
    except OSError as error:
        raise cannot_run_codex(codex_bin, error, "stop the codex app-server daemon") from None
    except subprocess.TimeoutExpired:
        done = None   # its processes are ended below
    if done is not None and done.returncode != 0:
        raise ConnectionFailed(f"`{codex_bin} app-server daemon stop` failed (exit {done.returncode}): "
                               f"{codex_error(done.stderr)}")
    leftovers = daemon_processes()
    _end(leftovers)
    status = _last_json_line(done.stdout).get("status") if done else None
    return {"ok": True, "codex_home": codex_home(), "daemon": status, "ended": leftovers}


def managed_codex() -> str:
    """The copy of codex the daemon runs, installed by its first start."""
    return os.path.join(codex_home(), "packages", "app-server-daemon", "current", "bin", "codex")


def daemon_processes() -> List[int]:
    """The processes running the daemon's own copy of codex (under $CODEX_HOME/packages/); Linux only."""
    packages = os.path.join(os.path.realpath(codex_home()), "packages") + os.sep
    pids = []
    for entry in os.listdir("/proc") if os.path.isdir("/proc") else ():
        try:
            if entry.isdigit() and os.readlink(f"/proc/{entry}/exe").startswith(packages):
                pids.append(int(entry))
        except OSError:
            continue
    return pids


def _end(pids: List[int]) -> None:
    """SIGTERM, then SIGKILL for what has not ended after LEFTOVER_GRACE_SECONDS."""
    for sig in (signal.SIGTERM, signal.SIGKILL):
        pids = [pid for pid in pids if _running(pid)]
        for pid in pids:
            try:
                os.kill(pid, sig)
            except OSError:
                pass
        deadline = time.monotonic() + LEFTOVER_GRACE_SECONDS
        while time.monotonic() < deadline and any(_running(pid) for pid in pids):
            time.sleep(0.05)


def _running(pid: int) -> bool:
    """True while `pid` runs (a zombie, dead but not yet reaped, does not count)."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as stat:
            return stat.read().rsplit(b")", 1)[1].split()[0] not in (b"Z", b"X")
    except (OSError, IndexError):
        return False


def _last_json_line(text: str) -> Dict[str, Any]:
    for line in reversed(text.splitlines()):
        try:
            value = json.loads(line)
        except ValueError:
            continue
        if isinstance(value, dict):
            return value
    return {}


def _connect_when_listening(connect: Callable[[str], Any], uri: str, seconds: Optional[float]) -> Any:
    started = time.monotonic()
    deadline = started + (SOCKET_WAIT_SECONDS if seconds is None else seconds)
    while True:
        try:
            return connect(uri)
        except NothingListening:
            if time.monotonic() > deadline:
                raise TimedOut(f"the codex app-server daemon did not listen on {uri} "
                               f"within {deadline - started:g}s") from None
            time.sleep(0.05)
