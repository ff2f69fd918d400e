"""An ACP agent as a child process: found on PATH, started in its own process group, its stdout
lines handed to an Inbox, lines written to its stdin, and stopped with nothing left behind."""
from __future__ import annotations

import json
import shutil
import subprocess
from typing import IO, Any, Dict, List, Optional, cast

from agent_bridge.child import LineReader, StderrTail, exited, own_process_group, stop_group
from agent_bridge.inbox import Inbox
from agent_bridge.outcome import ConnectionFailed, PeerExited
from agent_bridge.trace import Tracer

STOP_GRACE_SECONDS = 3.0


def find_executable(argv: List[str]) -> List[str]:
    """`argv` with its program's full path (`shutil.which` also finds Windows .cmd shims)."""
    path = shutil.which(argv[0]) if argv else None
    if path is None:
        name = argv[0] if argv else ""
        raise ConnectionFailed(f"ACP agent not found: {name!r} is not an executable on PATH", setting="agent_command")
    return [path, *argv[1:]]


class AgentProcess:
    def __init__(self, argv: List[str], cwd: Optional[str], tracer: Tracer, name: str) -> None:
        self.argv = argv
        self.cwd = cwd
        self.tracer = tracer
        self.name = name                 # the agent, as errors name it ("gemini")
        self.process: Optional[subprocess.Popen[bytes]] = None
        self.stderr_tail: Optional[StderrTail] = None
        self.output: Optional[LineReader] = None
        self.closing = False

    def start(self, inbox: Inbox) -> None:
        """Starts the agent; its stdout lines arrive in `inbox` as messages."""
        self.tracer.info(f"starting {' '.join(self.argv)}")
        try:
            self.process = subprocess.Popen(self.argv, cwd=self.cwd, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                            stderr=subprocess.PIPE, **own_process_group())
        except OSError as error:
            self.tracer.event("start", argv=self.argv, cwd=self.cwd, error=str(error))
            raise ConnectionFailed(f"cannot start {self.argv[0]}: {error.strerror or error}",
                                   setting="agent_command") from None
        self.tracer.event("start", argv=self.argv, cwd=self.cwd, pid=self.process.pid)
        assert self.process.stdout is not None and self.process.stderr is not None   # both are pipes
        self.stderr_tail = StderrTail(self.process.stderr, self._on_stderr)
        self.output = LineReader(self.process.stdout, self.name)
        inbox.read_messages_from(self)

    @property
    def pid(self) -> int:
        return self._running().pid

    def send(self, message: Dict[str, Any]) -> None:
        line = json.dumps(message, ensure_ascii=False)
        self.tracer.sent(line)
        stdin = cast(IO[bytes], self._running().stdin)
        try:
            stdin.write(line.encode("utf-8") + b"\n")
            stdin.flush()
        except (OSError, ValueError):
            raise self.exit_error() from None

    def stop(self) -> None:
        """Ends the agent and everything it started: its input closed, TERM to its group, then KILL."""
        if self.process is None:
            return
        self.closing = True
        try:
            cast(IO[bytes], self.process.stdin).close()
        except OSError:
            pass
        stop_group(self.process, STOP_GRACE_SECONDS)

    def exit_error(self) -> PeerExited:
        assert self.stderr_tail is not None   # set when the agent started, before anything can end it
        return exited(self._running(), self.stderr_tail, self.name)

    def fileno(self) -> Optional[int]:
        return cast(LineReader, self.output).fileno()

    def has_more(self) -> bool:
        return False   # a pipe at its end is readable: select sees it

    def read_available(self) -> List[str]:
        """The lines of the agent's output one read completed (for the Inbox)."""
        try:
            lines = cast(LineReader, self.output).read_available()
        except EOFError:
            if self.closing:
                raise   # we ended it: nothing to report
            raise self.exit_error() from None
        return [line.decode("utf-8", errors="replace") for line in lines]

    def _running(self) -> subprocess.Popen[bytes]:
        if self.process is None:
            raise ConnectionFailed(f"{self.name} is not running")
        return self.process

    def _on_stderr(self, line: str) -> None:
        self.tracer.event("stderr", line=line)
        if self.tracer.verbosity >= 2:
            self.tracer.warn(f"{self.name} stderr: {line}")

