"""The claude CLI as a child process: find it, start it in its own process group, hand its
output lines to an Inbox, write lines to it, and stop it with nothing left behind."""
import collections
import json
import os
import shutil
import signal
import subprocess
import threading

from agent_bridge.outcome import ConnectionFailed, PeerExited

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


def find_claude(name):
    """The executable's path; `shutil.which` also finds Windows .cmd shims."""
    path = shutil.which(name)
    if path is None:
        raise ConnectionFailed(f"claude CLI not found: {name!r} is not an executable on PATH (install Claude Code)",
                               setting="claude_bin")
    return path


def claude_arguments(options):
    """claude's own options for a Session's keyword options: a value, a list (the option repeated),
    a dict (as JSON) or True (a flag); None and False leave the option out."""
    argv = []
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
    def __init__(self, argv, cwd, tracer):
        self.argv = argv
        self.cwd = cwd
        self.tracer = tracer
        self.process = None
        self.stderr_tail = collections.deque(maxlen=20)
        self.stderr_done = threading.Event()
        self.closing = False

    def start(self, inbox):
        """Starts claude; its stdout lines arrive in `inbox` as messages."""
        env = {key: value for key, value in os.environ.items() if key not in NESTED_SESSION_VARIABLES}
        self.tracer.info(f"starting {' '.join(self.argv)}")
        try:
            self.process = subprocess.Popen(
                self.argv, cwd=self.cwd, env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                stderr=subprocess.PIPE, **_own_process_group())
        except OSError as error:
            self.tracer.event("start", argv=self.argv, cwd=self.cwd, error=str(error))
            raise ConnectionFailed(f"cannot start {self.argv[0]}: {error.strerror or error}") from None
        self.tracer.event("start", argv=self.argv, cwd=self.cwd, pid=self.process.pid)
        threading.Thread(target=self._read_stderr, daemon=True).start()
        inbox.read_messages_from(self._read_line)

    def send(self, message):
        line = json.dumps(message, ensure_ascii=False)
        self.tracer.sent(line)
        try:
            self.process.stdin.write(line.encode("utf-8") + b"\n")
            self.process.stdin.flush()
        except (OSError, ValueError):
            raise self.exited() from None

    def close_input(self):
        self.closing = True
        try:
            self.process.stdin.close()
        except OSError:
            pass

    def stop(self):
        """Ends claude and everything it started: TERM to its process group, then KILL."""
        if self.process is None:
            return
        self.close_input()
        if self.process.poll() is None:
            self._signal_group(signal.SIGTERM)
            try:
                self.process.wait(STOP_GRACE_SECONDS)
            except subprocess.TimeoutExpired:
                self._signal_group(getattr(signal, "SIGKILL", signal.SIGTERM))
                self.process.wait()
        self._signal_group(getattr(signal, "SIGKILL", signal.SIGTERM))   # children left in the group

    def wait(self, timeout):
        """Waits for claude to exit by itself; False if it is still running."""
        try:
            self.process.wait(timeout)
            return True
        except subprocess.TimeoutExpired:
            return False

    def exited(self):
        """The PeerExited error for a claude that has ended, with its code and stderr tail."""
        code = self.process.wait() if self.process else None
        self.stderr_done.wait(2)
        tail = [line for line in self.stderr_tail if line.strip()]
        message = f"claude exited (code {code})" + (f": {tail[-1].strip()}" if tail else " without a result")
        return PeerExited(message, code, tail)

    def _read_line(self):
        line = self.process.stdout.readline()
        if not line:
            if self.closing:
                raise EOFError   # we ended it: nothing to report
            raise self.exited()
        return line.decode("utf-8", errors="replace").rstrip("\r\n")

    def _read_stderr(self):
        for raw in self.process.stderr:
            line = raw.decode("utf-8", errors="replace").rstrip("\r\n")
            self.stderr_tail.append(line)
            self.tracer.event("stderr", line=line)
            if self.tracer.verbosity >= 2:
                self.tracer.warn(f"claude stderr: {line}")
        self.stderr_done.set()

    def _signal_group(self, sig):
        try:
            if os.name == "posix":
                os.killpg(self.process.pid, sig)
            elif self.process.poll() is None:
                self.process.terminate()
        except (ProcessLookupError, PermissionError):
            pass


def _own_process_group():
    if os.name == "posix":
        return {"start_new_session": True}
    return {"creationflags": subprocess.CREATE_NEW_PROCESS_GROUP}
