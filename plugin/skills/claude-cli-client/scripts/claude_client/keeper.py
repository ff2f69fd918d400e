"""The keeper of a warm session: a detached process that holds one claude process and relays its
stream-json lines to one caller at a time over a private unix socket (see warm.py).

It ends, ending claude, after `keep_warm` idle seconds, when the session's transcript changes while
no caller is attached (another process has resumed the session), when a caller asks it to stop, on
SIGTERM, when claude exits, and when a caller leaves in the middle of a turn. SIGTERM (--cancel,
--stop-warm) in the middle of a turn first has claude interrupt it, so that its caller gets the turn's
end (interrupted, with what it streamed). If the keeper itself is killed, claude's input closes and
claude exits.
"""
from __future__ import annotations

import glob
import json
import os
import secrets
import selectors
import signal
import socket
import subprocess
import sys
import tempfile
import time
from typing import Any, Dict, List, Optional, Tuple, Union

from agent_bridge.child import CHUNK_BYTES, StderrTail, exited, kill_group, own_process_group, signal_group
from agent_bridge.jobs import process_identity
from agent_bridge.turn_base import INTERRUPT_GRACE_SECONDS
from .process import NESTED_SESSION_VARIABLES, STOP_GRACE_SECONDS
from .session_store import claude_config_dir
from .turn import ENDED_BY_KEEPER
from .warm import CLAUDE_EXITED, STOP_MESSAGE, forget, socket_address

TICK_SECONDS = 1.0          # how often an idle keeper looks at the clock and the transcript
INTERRUPT_REQUEST_ID = "keeper_interrupt"   # the keeper's own interrupt request; claude's answer is not relayed


class Keeper:
    def __init__(self, setup: Dict[str, Any]) -> None:
        self.key = setup["key"]
        self.keep_warm = setup["keep_warm"]
        self.folder = setup["folder"]
        self.keeper_id = secrets.token_hex(5)
        self.socket_path = os.path.join(self.folder, self.keeper_id + ".sock")
        env = {key: value for key, value in os.environ.items() if key not in NESTED_SESSION_VARIABLES}
        self.claude: Any   # a subprocess.Popen with pipes for stdin, stdout and stderr
        self.claude = subprocess.Popen(setup["argv"], cwd=setup["cwd"], env=env, stdin=subprocess.PIPE,
                                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, **own_process_group())
        self.stderr_tail = StderrTail(self.claude.stderr)
        self.listener = self._listen()
        self.record = {"keeper_id": self.keeper_id, "keeper_pid": os.getpid(),
                       "keeper_identity": process_identity(os.getpid()), "claude_pid": self.claude.pid,
                       "session_id": _resumed_session(setup["argv"]), "cwd": os.path.realpath(setup["cwd"]),
                       "started_at": time.time(), "idle_since": time.time(), "keep_warm": self.keep_warm,
                       "busy": False}
        self.caller: Any = None   # the socket of the call attached, if one is
        self.from_caller = bytearray()
        self.from_claude = bytearray()
        self.in_turn = False
        self.initialized = False
        self.cost_usd = 0.0
        self.transcript_seen: Optional[Tuple[int, int]] = None   # the transcript's size and time when last looked at
        self.claude_written: Optional[int] = None                # what claude had written by then
        self.selector = selectors.DefaultSelector()
        self.selector.register(self.listener, selectors.EVENT_READ, self._accept)
        self.selector.register(self.claude.stdout, selectors.EVENT_READ, self._claude_output)
        self.running = True
        self.stop_asked_at: Optional[float] = None   # when SIGTERM came (time.monotonic)
        self.interrupting = False
        self._write_record()

    def _listen(self) -> socket.socket:
        address, folder = socket_address(self.socket_path)
        listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            listener.bind(address)   # in the user's private folder: only the user reaches it
        finally:
            if folder is not None:
                os.close(folder)
        listener.listen(4)
        return listener

    def run(self) -> None:
        while self.running:
            for selected, _ in self.selector.select(TICK_SECONDS):
                selected.data()
                if not self.running:
                    break
            if self.stop_asked_at is not None and self.running:
                self._stop_once_turn_ends(self.stop_asked_at)
            elif self.caller is None and self.running:
                self._check_idle()

    def stop(self) -> None:
        self.running = False

    def ask_to_stop(self) -> None:
        """SIGTERM's handler: the loop stops the keeper (see _stop_once_turn_ends)."""
        if self.stop_asked_at is None:
            self.stop_asked_at = time.monotonic()

    def _stop_once_turn_ends(self, asked_at: float) -> None:
        """Stops now, or, in the middle of a turn, once claude has ended it: the caller is told the turn is
        interrupted, and claude is asked to interrupt it. A claude that does not within
        INTERRUPT_GRACE_SECONDS is stopped all the same."""
        if self.caller is None or not self.in_turn or time.monotonic() - asked_at >= INTERRUPT_GRACE_SECONDS:
            self.stop()
        elif not self.interrupting:
            self.interrupting = True
            notice = {"type": ENDED_BY_KEEPER, "message": "the warm session was ended (--cancel or --stop-warm), "
                                                          "its turn interrupted"}
            try:
                self.caller.sendall(json.dumps(notice).encode() + b"\n")
            except OSError:
                pass   # the caller has gone: the turn ends as it leaves
            self._to_claude(json.dumps({"type": "control_request", "request_id": INTERRUPT_REQUEST_ID,
                                        "request": {"subtype": "interrupt"}}).encode())

    def close(self) -> None:
        """Ends claude and everything it started, and removes the keeper's socket and record."""
        forget(self.folder, self.keeper_id)
        try:
            self.claude.stdin.close()
        except OSError:
            pass
        try:
            self.claude.wait(STOP_GRACE_SECONDS)
        except subprocess.TimeoutExpired:
            signal_group(self.claude, signal.SIGTERM)
            try:
                self.claude.wait(STOP_GRACE_SECONDS)
            except subprocess.TimeoutExpired:
                pass
        kill_group(self.claude)

    # -- callers ---------------------------------------------------------------

    def _accept(self) -> None:
        connection, _ = self.listener.accept()
        hello = _read_hello(connection)
        answer = {"type": "keeper_hello", "busy": self.caller is not None,
                  "match": hello.get("key") == self.key, "initialized": self.initialized,
                  "cost_usd": self.cost_usd, "claude_pid": self.claude.pid}
        try:
            connection.sendall(json.dumps(answer).encode() + b"\n")
        except OSError:
            answer["match"] = False
        if answer["busy"] or not answer["match"]:
            connection.close()
            return
        if hello.get("keep_warm") is not None:
            self.keep_warm = hello["keep_warm"]
        self.caller = connection
        self.from_caller = bytearray()
        self.selector.register(connection, selectors.EVENT_READ, self._caller_input)
        self._write_record(busy=True, keep_warm=self.keep_warm)

    def _caller_input(self) -> None:
        try:
            chunk = self.caller.recv(CHUNK_BYTES)
        except OSError:
            chunk = b""
        if not chunk:
            self._caller_left()
            return
        self.from_caller += chunk
        *lines, rest = self.from_caller.split(b"\n")
        self.from_caller = bytearray(rest)
        for line in lines:
            self._from_caller(line)

    def _from_caller(self, line: bytearray) -> None:
        message = _parse(line)
        if message == STOP_MESSAGE:
            self.stop()
            return
        if message.get("type") == "user":
            self.in_turn = True
        self._to_claude(line)

    def _to_claude(self, line: Union[bytes, bytearray]) -> None:
        try:
            self.claude.stdin.write(line + b"\n")
            self.claude.stdin.flush()
        except OSError:
            self.stop()

    def _caller_left(self) -> None:
        self.selector.unregister(self.caller)
        self.caller.close()
        self.caller = None
        if self.in_turn:   # nobody would answer its permission requests or read its answer
            self.stop()
            return
        self.transcript_seen, self.claude_written = self._transcript_state(), self._claude_written()
        self._write_record(busy=False, idle_since=time.time())

    # -- claude ----------------------------------------------------------------

    def _claude_output(self) -> None:
        chunk = os.read(self.claude.stdout.fileno(), CHUNK_BYTES)
        if not chunk:
            self._claude_exited()
            return
        self.from_claude += chunk
        end = self.from_claude.rfind(b"\n")
        if end < 0:
            return
        complete, self.from_claude = bytes(self.from_claude[:end + 1]), bytearray(self.from_claude[end + 1:])
        lines = complete.split(b"\n")[:-1]
        for line in lines:
            self._note(line)
        if self.interrupting:
            complete = b"".join(line + b"\n" for line in lines if not _answers_keeper(line))
        if self.caller is not None and complete:
            try:
                self.caller.sendall(complete)
            except OSError:
                self._caller_left()

    def _claude_exited(self) -> None:
        """Tells the caller, if any, how claude ended (its exit code and its last stderr lines)."""
        if self.caller is not None:
            error = exited(self.claude, self.stderr_tail, "claude")
            notice = {"type": CLAUDE_EXITED, "message": str(error), "returncode": error.returncode,
                      "stderr_tail": error.stderr_tail}
            try:
                self.caller.sendall(json.dumps(notice).encode() + b"\n")
            except OSError:
                pass
        self.stop()

    def _note(self, line: bytes) -> None:
        """Follows the turns: a control response (to initialize), and each turn's result. (Inside a JSON
        string a quote is escaped, so only a key and its value can match; newer claude puts "type" last.)"""
        if b'"type":"control_response"' in line and _parse(line).get("type") == "control_response":
            self.initialized = True
        elif b'"type":"result"' in line and _parse(line).get("type") == "result":
            result = _parse(line)
            self.in_turn = False
            self.cost_usd = float(result.get("total_cost_usd") or self.cost_usd)
            if isinstance(result.get("session_id"), str) and result["session_id"] != self.record["session_id"]:
                self._write_record(session_id=result["session_id"])

    # -- idle ------------------------------------------------------------------

    def _check_idle(self) -> None:
        if time.time() - self.record["idle_since"] >= self.keep_warm:
            self.stop()
            return
        transcript, written = self._transcript_state(), self._claude_written()
        if transcript != self.transcript_seen and not self._claude_may_have_written(transcript, written):
            self.stop()   # another process has resumed the session with claude itself
        self.transcript_seen, self.claude_written = transcript, written

    def _claude_may_have_written(self, transcript: Optional[Tuple[int, int]], written: Optional[int]) -> bool:
        """Whether our claude wrote as many bytes as the transcript changed by since the last look: it may
        still be writing the end of its turn. (An idle claude writes a few bytes now and then.)"""
        if written is None or self.claude_written is None:
            return False
        changed = abs((transcript or (0, 0))[0] - (self.transcript_seen or (0, 0))[0])
        return written - self.claude_written >= max(changed, 1)

    def _claude_written(self) -> Optional[int]:
        """The bytes claude has written so far (Linux; None elsewhere)."""
        try:
            with open(f"/proc/{self.claude.pid}/io") as io:
                return next(int(line.split()[1]) for line in io if line.startswith("wchar:"))
        except (OSError, StopIteration, ValueError):
            return None

    def _transcript_state(self) -> Optional[Tuple[int, int]]:
        """The size and modification time of the session's transcript, or None."""
        session_id = self.record["session_id"]
        if not session_id:
            return None
        pattern = os.path.join(glob.escape(claude_config_dir()), "projects", "*", f"{session_id}.jsonl")
        for path in glob.glob(pattern):
            try:
                status = os.stat(path)
            except OSError:
                continue
            return status.st_size, status.st_mtime_ns
        return None

    def _write_record(self, **changes: Any) -> None:
        self.record.update(changes)
        handle, temporary = tempfile.mkstemp(prefix=".tmp-", suffix=".json", dir=self.folder)
        with os.fdopen(handle, "w", encoding="utf-8") as file:
            json.dump(self.record, file)
        os.replace(temporary, os.path.join(self.folder, self.keeper_id + ".json"))


def _read_hello(connection: socket.socket) -> Dict[str, Any]:
    """The caller's first line (what it needs of claude); {} if it sends none in time."""
    connection.settimeout(10)
    data = b""
    try:
        while b"\n" not in data:
            chunk = connection.recv(4096)
            if not chunk:
                break
            data += chunk
    except OSError:
        return {}
    finally:
        connection.settimeout(None)
    return _parse(data.split(b"\n", 1)[0])


def _parse(line: Union[bytes, bytearray]) -> Dict[str, Any]:
    try:
        message = json.loads(line)
    except ValueError:
        return {}
    return message if isinstance(message, dict) else {}


def _answers_keeper(line: bytes) -> bool:
    return INTERRUPT_REQUEST_ID.encode() in line and _parse(line).get("type") == "control_response"


def _resumed_session(argv: List[str]) -> Optional[str]:
    return argv[argv.index("--resume") + 1] if "--resume" in argv else None


def run_keeper(ready_fd: int) -> int:
    """The keeper's process: reads its setup on stdin, starts claude, reports its socket on `ready_fd`
    (or the error that stopped it), and keeps claude until one of its ends.

    The process the caller started forks the keeper and exits at once, so the keeper is nobody's child:
    a caller that lives on (a library user running many sessions) is not left a zombie to reap."""
    setup = json.loads(sys.stdin.read())
    try:
        if os.fork():
            os._exit(0)
        keeper = Keeper(setup)
    except OSError as error:
        os.write(ready_fd, json.dumps({"error": f"cannot start {setup['argv'][0]}: {error}"}).encode())
        return 3
    signal.signal(signal.SIGTERM, lambda *_: keeper.ask_to_stop())
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    os.write(ready_fd, json.dumps({"socket": keeper.socket_path, "pid": os.getpid()}).encode())
    os.close(ready_fd)
    try:
        keeper.run()
    finally:
        keeper.close()
    return 0
