"""The claude CLI as a child process: find it, start it in its own process group, hand its
output lines to an Inbox, write lines to it, and stop it with nothing left behind."""
from __future__ import annotations

import json
import os
import queue
import shutil
import subprocess
import threading
from typing import Any, Dict, List, Optional

from agent_bridge.child import LineReader, StderrTail, exited, own_process_group, stop_group
from agent_bridge.inbox import Inbox
from agent_bridge.outcome import ConnectionFailed

# Set inside a Claude Code session; a nested claude started with them may refuse to run.
NESTED_SESSION_VARIABLES = ("CLAUDECODE", "CLAUDE_CODE_ENTRYPOINT", "CLAUDE_CODE_SSE_PORT")
STOP_GRACE_SECONDS = 3.0
# A Session's keyword options that are claude's own.
CLAUDE_OPTIONS = {
    "model": "--model", "permission_mode": "--permission-mode", "system_prompt": "--system-prompt",
    "append_system_prompt": "--append-system-prompt", "agent": "--agent", "effort": "--effort",
    "fallback_model": "--fallback-model", "max_budget_usd": "--max-budget-usd", "setting_sources": "--setting-sources",
    "add_dir": "--add-dir", "allowed_tools": "--allowedTools", "disallowed_tools": "--disallowedTools",
    "mcp_config": "--mcp-config", "plugin_dir": "--plugin-dir", "settings": "--settings",
    "json_schema": "--json-schema",
    "disable_slash_commands": "--disable-slash-commands", "no_session_persistence": "--no-session-persistence"}


def find_claude(name: str) -> str:
    """The executable's path; `shutil.which` also finds Windows .cmd shims."""
    path = shutil.which(name)
    if path is None:
        raise ConnectionFailed(f"claude CLI not found: {name!r} is not an executable on PATH (install Claude Code)",
                               setting="claude_bin")
    return path


def claude_arguments(options: Dict[str, Any]) -> List[str]:
    """claude's own options for a Session's keyword options: a value, a list (the option repeated),
    a dict (as JSON) or True (a flag); None and False leave the option out."""
    argv: List[str] = []
    for name, value in options.items():
        if name not in CLAUDE_OPTIONS:
            raise TypeError(f"unknown claude option {name!r}")
        option = CLAUDE_OPTIONS[name]
        if value is True:
            argv.append(option)
        elif isinstance(value, (list, tuple)):
            for each in value:
                argv += [option, str(each)]
        elif isinstance(value, dict):
            argv += [option, json.dumps(value)]
        elif value is not None and value is not False:
            argv += [option, str(value)]
    return argv


class ClaudeProcess:
    needs_initialize = True     # a new claude process; a warm one (warm.KeptProcess) may be initialized already
    cost_usd = 0.0              # what claude has reported spending in this process so far

    def __init__(self, argv: List[str], cwd: Optional[str], tracer: Any) -> None:
        self.argv = argv
        self.cwd = cwd
        self.tracer = tracer
        self.process: Any = None   # the subprocess.Popen, once started
        self.stderr_tail: Any = None
        self.output: Any = None      # a LineReader of claude's stdout
        self.closing = False
        # Lines for claude's stdin, written in order by a thread of their own: a long line written on
        # the thread that reads claude's output would wait for claude to read it while claude waits
        # for its output to be read (None: close stdin once the lines before are written).
        self.outgoing: queue.SimpleQueue[Optional[bytes]] = queue.SimpleQueue()
        self.write_failed = False

    def start(self, inbox: Inbox) -> None:
        """Starts claude; its stdout lines arrive in `inbox` as messages."""
        env = {key: value for key, value in os.environ.items() if key not in NESTED_SESSION_VARIABLES}
        self.tracer.info(f"starting {' '.join(self.argv)}")
        try:
            self.process = subprocess.Popen(
                self.argv, cwd=self.cwd, env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                stderr=subprocess.PIPE, **own_process_group())
        except OSError as error:
            self.tracer.event("start", argv=self.argv, cwd=self.cwd, error=str(error))
            raise ConnectionFailed(f"cannot start {self.argv[0]}: {error.strerror or error}") from None
        self.tracer.event("start", argv=self.argv, cwd=self.cwd, pid=self.process.pid)
        self.stderr_tail = StderrTail(self.process.stderr, self._on_stderr)
        self.output = LineReader(self.process.stdout, "claude")
        threading.Thread(target=self._write_lines, daemon=True).start()
        inbox.read_messages_from(self)

    @property
    def pid(self) -> int:
        return self.process.pid

    def send(self, message: Dict[str, Any]) -> None:
        """Queues a line for claude; ConnectionFailed (claude's exit) once a write has failed."""
        if self.write_failed or self.closing:
            raise self.exit_error()
        line = json.dumps(message, ensure_ascii=False)
        self.tracer.sent(line)
        self.outgoing.put(line.encode("utf-8") + b"\n")

    def close_input(self) -> None:
        """claude's stdin closes once the lines queued before are written."""
        if not self.closing:
            self.closing = True
            self.outgoing.put(None)

    def _write_lines(self) -> None:
        stdin = self.process.stdin
        while True:
            line = self.outgoing.get()
            try:
                if line is None:
                    stdin.close()
                    return
                stdin.write(line)
                stdin.flush()
            except (OSError, ValueError):
                self.write_failed = True   # claude has gone: its output's end says why
                return

    def stop(self) -> None:
        """Ends claude and everything it started: TERM to its process group, then KILL."""
        if self.process is None:
            return
        self.close_input()
        stop_group(self.process, STOP_GRACE_SECONDS)

    def wait(self, timeout: Optional[float]) -> bool:
        """Waits for claude to exit by itself; False if it is still running."""
        try:
            self.process.wait(timeout)
            return True
        except subprocess.TimeoutExpired:
            return False

    def exit_error(self) -> Exception:
        return exited(self.process, self.stderr_tail, "claude")

    def fileno(self) -> int:
        return self.output.fileno()

    def has_more(self) -> bool:
        return False   # a pipe at its end is readable: select sees it

    def read_available(self) -> List[str]:
        """The lines of claude's output one read completed (for the Inbox)."""
        try:
            lines = self.output.read_available()
        except EOFError:
            if self.closing:
                raise   # we ended it: nothing to report
            raise self.exit_error() from None
        return [line.decode("utf-8", errors="replace") for line in lines]

    def _on_stderr(self, line: str) -> None:
        self.tracer.event("stderr", line=line)
        if self.tracer.verbosity >= 2:
            self.tracer.warn(f"claude stderr: {line}")
