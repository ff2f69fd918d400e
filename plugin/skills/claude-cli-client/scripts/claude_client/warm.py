"""Warm sessions (--keep-warm, POSIX): a keeper process of the client's own holds a claude process
between calls, and the next call of that session talks to it through a private unix socket.

The store is one folder private to the user: per keeper `<id>.json` (its record) and `<id>.sock`.
A call connects, says which claude options it would start claude with, and the keeper answers
whether they match what its claude was started with; from then on the socket carries claude's
stream-json lines both ways, so the caller answers claude's permission requests itself. The
keeper's side is keeper.py.
"""
from __future__ import annotations

import hashlib
import json
import os
import select
import signal
import socket
import subprocess
import sys
import time
from typing import Any, Dict, List, Optional, Sequence, Tuple, Union

from agent_bridge.child import LineReader
from agent_bridge.jobs import is_alive, open_store
from agent_bridge.outcome import ConnectionFailed, PeerExited, TurnFailed

MAX_KEPT = 8                       # warm sessions per user; the oldest idle one goes first
SOCKET_PATH_LIMIT = 100            # bytes; sun_path holds 104 (macOS) to 108 (Linux)
HELLO_TIMEOUT_SECONDS = 10.0
KEEPER_STOP_SECONDS = 10.0        # how long --stop-warm waits for a keeper to end its claude and go
STOP_MESSAGE = {"type": "keeper_stop"}
CLAUDE_EXITED = "keeper_claude_exited"     # the keeper's last line to its caller when claude has exited


def warm_dir() -> str:
    """The folder of the keepers' records and sockets, created private to the user."""
    directory = os.path.join(os.path.dirname(open_store()), "warm")
    os.makedirs(directory, mode=0o700, exist_ok=True)
    if os.stat(directory).st_mode & 0o077:
        os.chmod(directory, 0o700)
    return directory


def options_key(argv: List[str], cwd: str) -> str:
    """What a kept claude must have been started with to take this call: its executable, options and
    directory (not --resume: the session is found by its id)."""
    return hashlib.sha256(json.dumps([argv, os.path.realpath(cwd)]).encode()).hexdigest()


def socket_address(path: str) -> Tuple[str, Optional[int]]:
    """`path`, or the same through /proc/self/fd when it is too long for a unix socket address."""
    if len(os.fsencode(path)) <= SOCKET_PATH_LIMIT or not os.path.isdir("/proc/self/fd"):
        return path, None
    folder = os.open(os.path.dirname(path), os.O_RDONLY)
    return f"/proc/self/fd/{folder}/{os.path.basename(path)}", folder


def connect(path: str) -> socket.socket:
    address, folder = socket_address(path)
    connection = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        connection.connect(address)
    except OSError:
        connection.close()
        raise
    finally:
        if folder is not None:
            os.close(folder)
    return connection


def kept_sessions() -> List[Dict[str, Any]]:
    """The records of the keepers that run, oldest first; those of keepers gone are removed."""
    directory = warm_dir()
    records = []
    for name in os.listdir(directory):
        if name.endswith(".json"):
            record = read_record(os.path.join(directory, name))
            if record is None:
                continue
            if is_alive(record.get("keeper_pid"), record.get("keeper_identity", "")):
                records.append(record)
            else:
                forget(directory, name[:-len(".json")])
    return sorted(records, key=lambda record: record.get("started_at", 0))


def read_record(path: str) -> Optional[Dict[str, Any]]:
    try:
        with open(path, encoding="utf-8") as file:
            record = json.load(file)
    except (OSError, ValueError):
        return None
    return record if isinstance(record, dict) and "keeper_id" in record else None


def forget(directory: str, keeper_id: str) -> None:
    for suffix in (".json", ".sock"):
        try:
            os.remove(os.path.join(directory, keeper_id + suffix))
        except OSError:
            pass


def stop_keeper(record: Dict[str, Any]) -> None:
    """Ends a keeper (it ends its claude first) and returns once it has gone, so that a listing made
    right after no longer shows it. A keeper still there after KEEPER_STOP_SECONDS is killed: its claude
    then ends too, its input closed."""
    pid: int = record.get("keeper_pid")  # type: ignore[assignment]  # is_alive is False for a missing pid
    identity = record.get("keeper_identity", "")
    if not is_alive(pid, identity):
        return
    try:
        os.kill(pid, signal.SIGTERM)
    except OSError:
        return
    deadline = time.monotonic() + KEEPER_STOP_SECONDS
    while is_alive(pid, identity) and time.monotonic() < deadline:
        time.sleep(0.05)
    if is_alive(pid, identity):
        try:
            os.kill(pid, signal.SIGKILL)
        except OSError:
            pass


def make_room() -> None:
    """Stops the oldest idle keepers so that a new one keeps at most MAX_KEPT."""
    records = kept_sessions()
    idle = [record for record in records if not record.get("busy")]
    for record in idle[:max(0, len(records) - MAX_KEPT + 1)]:
        stop_keeper(record)


def held_memory_bytes(record: Dict[str, Any]) -> int:
    """The resident memory of the keeper and its claude process."""
    return sum(_resident_bytes(record.get(name)) for name in ("keeper_pid", "claude_pid"))


def _resident_bytes(pid: Any) -> int:
    try:
        with open(f"/proc/{pid}/statm") as statm:
            return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError, TypeError):
        return 0


def attach(session_id: str, key: str, keep_warm: Optional[float], tracer: Any) -> Optional[KeptProcess]:
    """A KeptProcess on the warm claude of `session_id`, or None when none is kept or it was started
    with other options; TurnFailed when another call is using it."""
    record = next((record for record in reversed(kept_sessions()) if record.get("session_id") == session_id), None)
    if record is None:
        return None
    try:
        process = KeptProcess(connect(os.path.join(warm_dir(), record["keeper_id"] + ".sock")), tracer)
    except OSError:
        return None   # it has just ended
    hello = process.hello(key, keep_warm)
    if hello.get("busy"):
        process.close_input()
        raise TurnFailed(f"session {session_id} is busy: another call is using its warm claude process")
    if not hello.get("match"):
        process.close_input()
        tracer.info(f"session {session_id} is kept warm with other claude options: starting claude cold")
        return None
    tracer.info(f"session {session_id}: using its warm claude process (pid {hello.get('claude_pid')})")
    return process


def start_keeper(argv: List[str], cwd: str, key: str, keep_warm: float, tracer: Any) -> KeptProcess:
    """Starts a keeper running claude with `argv` in `cwd`; returns a KeptProcess connected to it."""
    make_room()
    ready_read, ready_write = os.pipe()
    script = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "claude_cli_client.py")
    launcher: Any = subprocess.Popen([sys.executable, script, "--keeper-fd", str(ready_write)],
                                     stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                     pass_fds=(ready_write,), start_new_session=True)
    os.close(ready_write)
    setup = {"argv": argv, "cwd": cwd, "key": key, "keep_warm": keep_warm, "folder": warm_dir()}
    launcher.stdin.write(json.dumps(setup).encode())
    launcher.stdin.close()
    with os.fdopen(ready_read, "rb") as ready:
        answer = json.loads(ready.read() or b"{}")
    launcher.wait()   # it has forked the keeper and gone
    if "socket" not in answer:
        raise ConnectionFailed(answer.get("error") or "the process keeping claude warm did not start")
    tracer.info(f"started {' '.join(argv)} kept warm for {keep_warm:g}s (keeper pid {answer['pid']})")
    process = KeptProcess(connect(answer["socket"]), tracer)
    process.hello(key, keep_warm)
    return process


class KeptProcess:
    """A warm claude process, reached through its keeper: what session.Session needs of ClaudeProcess."""

    def __init__(self, connection: socket.socket, tracer: Any) -> None:
        self.connection = connection
        self.tracer = tracer
        self.output = LineReader(connection, "claude")
        self.closing = False
        self.claude_exited: Optional[PeerExited] = None   # what the keeper reported
        self.needs_initialize = True
        self.cost_usd = 0.0
        self.pid: Optional[int] = None

    def hello(self, key: str, keep_warm: Optional[float]) -> Dict[str, Any]:
        """Tells the keeper what this call needs; returns its answer (the first line it sends)."""
        self.connection.sendall(json.dumps({"type": "keeper_hello", "key": key, "keep_warm": keep_warm}).encode()
                                + b"\n")
        lines: Sequence[Union[bytes, bytearray]] = []
        try:
            while not lines and select.select([self.connection], [], [], HELLO_TIMEOUT_SECONDS)[0]:
                lines = self.output.read_available()
        except (OSError, EOFError):
            pass
        if not lines:
            raise ConnectionFailed("the process keeping claude warm did not answer")
        hello = json.loads(lines[0])
        self.needs_initialize = not hello.get("initialized")
        self.cost_usd = float(hello.get("cost_usd") or 0.0)
        self.pid = hello.get("claude_pid")
        return hello

    def start(self, inbox: Any) -> None:
        inbox.read_messages_from(self)

    def send(self, message: Dict[str, Any]) -> None:
        line = json.dumps(message, ensure_ascii=False)
        self.tracer.sent(line)
        try:
            self.connection.sendall(line.encode("utf-8") + b"\n")
        except OSError:
            raise self.exit_error() from None

    def close_input(self) -> None:
        """Lets go of the warm process; the keeper keeps it for the next call."""
        self.closing = True
        self.connection.close()

    def stop(self) -> None:
        """Ends the warm process (a turn that failed or timed out leaves nothing running)."""
        if not self.closing:
            try:
                self.connection.sendall(json.dumps(STOP_MESSAGE).encode() + b"\n")
            except OSError:
                pass
            self.close_input()

    def wait(self, timeout: Optional[float]) -> bool:
        return True

    def exit_error(self) -> Exception:
        return self.claude_exited or ConnectionFailed("the keeper of the warm claude process ended before the turn")

    def fileno(self) -> Optional[int]:
        return self.output.fileno()

    def has_more(self) -> bool:
        return False

    def read_available(self) -> List[str]:
        try:
            raw_lines = self.output.read_available()
        except (EOFError, OSError):
            if self.closing:
                raise EOFError from None
            raise self.exit_error() from None
        lines = [line.decode("utf-8", errors="replace") for line in raw_lines]
        if lines and lines[-1].startswith(f'{{"type": "{CLAUDE_EXITED}"'):
            notice = json.loads(lines.pop())
            self.claude_exited = PeerExited(notice["message"], notice["returncode"], notice["stderr_tail"])
        return lines


def idle_seconds(record: Dict[str, Any], now: Optional[float] = None) -> int:
    if record.get("busy"):
        return 0
    return max(0, int((now or time.time()) - record.get("idle_since", time.time())))
