"""The stdio transport: a private `codex app-server` whose pipes carry one JSON-RPC message a line."""
from __future__ import annotations

import subprocess
from typing import Any, List, Optional, Union

from agent_bridge.child import LineReader, StderrTail, exited, kill_group, own_process_group
from agent_bridge.outcome import ConnectionFailed, ParseError
from .transport import cannot_run_codex, reason_of


class StdioTransport:
    """A private `codex app-server --listen stdio://` for this call only: JSON lines on its pipes."""

    def __init__(self, codex_bin: str) -> None:
        self.codex_bin = codex_bin
        self.process: Any = None
        self.stderr_tail: Any = None
        self.output: Any = None      # a LineReader of the server's stdout
        self.uri = "stdio://"

    def connect(self) -> None:
        try:
            self.process = subprocess.Popen(
                [self.codex_bin, "app-server", "--listen", "stdio://"],
                stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, **own_process_group())
        except OSError as error:
            raise cannot_run_codex(self.codex_bin, error, "start app-server") from None
        self.stderr_tail = StderrTail(self.process.stderr)
        self.output = LineReader(self.process.stdout, "the stdio app-server")

    def send(self, text: str) -> None:
        try:
            self.process.stdin.write(text.encode("utf-8") + b"\n")
            self.process.stdin.flush()
        except OSError as error:
            try:
                self.process.wait(2)   # a server that closed its input is usually exiting: say how and why
            except subprocess.TimeoutExpired:
                raise ConnectionFailed(f"lost the stdio app-server: {reason_of(error)}") from None
            raise exited(self.process, self.stderr_tail, "the stdio app-server") from None

    def fileno(self) -> Optional[int]:
        return self.output.fileno()

    def has_more(self) -> bool:
        return False   # a pipe at its end is readable: select sees it

    def read_available(self) -> List[Any]:
        """The texts of the lines one read completed (a ParseError in place of one that is not UTF-8)."""
        try:
            lines = self.output.read_available()
        except EOFError:
            raise exited(self.process, self.stderr_tail, "the stdio app-server") from None
        return [_text(line) for line in lines]

    def close(self) -> None:
        if self.process is None:
            return
        try:
            self.process.stdin.close()
        except OSError:
            pass   # a server that stopped reading: what was left unsent is lost anyway
        try:
            self.process.wait(5)
        except subprocess.TimeoutExpired:
            kill_group(self.process)   # what it started too
            self.process.wait()
        # Only now: closing stdout blocks while a reading thread (Windows) waits on it for a server still running.
        self.process.stdout.close()
        self.process = None


def _text(line: bytes) -> Union[str, ParseError]:
    try:
        return line.decode("utf-8")
    except UnicodeDecodeError:
        return ParseError("the stdio app-server printed a line that is not UTF-8")
