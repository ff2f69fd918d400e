"""The only module that touches the two client packages: one Codex peer and one Claude peer.

Each peer keeps one connection (Codex: a thread on one app-server connection; Claude: one
session in one claude process) for the whole run and offers the same three calls:
`ask(prompt) -> envelope dict` (the dict the client's --json prints; errors are in it, never
raised), `interrupt()` (from another thread) and `close()`.

The client packages are found in the sibling skill folders, where the installer puts them
and where they are in the repository.
"""
import importlib
import os
import sys
import threading

from .errors import EXIT_UNREACHABLE, BrainstormError

SKILLS_DIR = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
CLIENT_SKILLS = {"codex": ("codex-ws-client", "codex_client"), "claude": ("claude-cli-client", "claude_client")}


def load_client(peer):
    """Imports the client package of `peer` from its sibling skill folder."""
    skill, package = CLIENT_SKILLS[peer]
    scripts = os.path.join(SKILLS_DIR, skill, "scripts")
    if not os.path.isfile(os.path.join(scripts, package, "__init__.py")):
        raise BrainstormError(f"the {skill} skill is missing: brainstorm needs it installed beside it "
                              f"(looked in {scripts}); install the three skills together", EXIT_UNREACHABLE)
    for folder in (scripts, os.path.join(scripts, "_vendor")):   # _vendor: the codex skill's websocket-client
        if os.path.isdir(folder) and folder not in sys.path:
            sys.path.append(folder)
    return importlib.import_module(package)


def failed_envelope(error, **ids):
    """The envelope of a turn that could not run: an error of either client, as its --json shows it."""
    return dict(ids, status=error.status, exit_code=error.exit_code, text="", error=str(error))


class CodexPeer:
    """Codex through codex_client. options: uri, token, codex_bin, spawn, connect_timeout, timeout,
    cwd, approve (kinds: commands, file-changes, permissions, all), thread_id (to resume)."""

    name = "codex"

    def __init__(self, options):
        self.options = options
        self.codex = load_client("codex")
        self.client = None
        self.thread_id = options.get("thread_id")
        self.turn = None
        self.stopping = threading.Event()

    def ask(self, prompt):
        codex = self.codex
        try:
            if self.client is None:
                self._connect()
            if self.stopping.is_set():
                raise codex.Interrupted("interrupted before the turn started")
            self.turn = self.client.start_turn(prompt)
            if self.stopping.is_set():   # interrupt() came while the turn was starting
                self.turn.interrupt()
            return self.turn.result().to_dict()
        except codex.ClientError as error:
            return failed_envelope(error, thread_id=self.thread_id, turn_id=None)

    def interrupt(self):
        self.stopping.set()
        turn = self.turn
        if turn is not None and turn.turn_id and not turn.record.finished:
            try:
                turn.interrupt()
            except self.codex.ClientError:
                pass

    def close(self):
        if self.client is not None:
            self.client.close()
            self.client = None

    def _connect(self):
        codex, options = self.codex, self.options
        from codex_client.cli import APPROVE_CHOICES
        from codex_client.spawn import check_spawnable, connect_or_spawn

        def connect():
            return codex.CodexClient.connect(options["uri"], token=options.get("token"),
                                             connect_timeout=options.get("connect_timeout", 10.0),
                                             codex_bin=options.get("codex_bin", "codex"),
                                             timeout=options.get("timeout", 300.0))
        if options.get("spawn"):
            check_spawnable(options["uri"])
            self.client, _ = connect_or_spawn(connect, options["uri"], options.get("codex_bin", "codex"),
                                              codex.Tracer("codex-ws-client"), options.get("connect_timeout") or 30)
        else:
            self.client = connect()
        approve = set().union(*(APPROVE_CHOICES[kind] for kind in options.get("approve", ())))
        self.client.on_server_request = codex.ApprovalPolicy(approve=approve)
        thread_options = codex.ThreadOptions(cwd=options.get("cwd"))
        if self.thread_id:
            self.client.resume_thread(self.thread_id, thread_options)
        else:
            self.thread_id = self.client.start_thread(thread_options)


class ClaudePeer:
    """Claude through claude_client. options: claude_bin, cwd, allowed_tools, timeout,
    session_id (to resume)."""

    name = "claude"

    def __init__(self, options):
        self.options = options
        load_client("claude")
        from claude_client import outcome, session
        self.outcome, self.module = outcome, session
        self.session = None
        self.session_id = options.get("session_id")
        self.in_turn = threading.Event()
        self.stopping = threading.Event()

    def ask(self, prompt):
        try:
            if self.session is None:
                self._start()
            if self.stopping.is_set():
                raise self.outcome.Interrupted("interrupted before the turn started")
            self.in_turn.set()
            try:
                envelope = self.session.run_turn(prompt).to_dict()
            finally:
                self.in_turn.clear()
            self.session_id = envelope.get("session_id") or self.session_id
            return envelope
        except self.outcome.ClientError as error:
            return failed_envelope(error, session_id=self.session_id, thread_id=self.session_id, turn_id=None)

    def interrupt(self):
        self.stopping.set()
        if self.session is not None and self.in_turn.is_set():
            try:
                # The control protocol's interrupt: claude ends the turn and prints its result line.
                self.session._send_control("interrupt")
            except (self.outcome.ClientError, AttributeError):
                pass

    def close(self):
        if self.session is not None:
            self.session.close()
            self.session = None

    def _start(self):
        from claude_client.process import find_claude
        from claude_client.session_store import find_session_cwd
        from claude_client.trace import Tracer
        options = self.options
        cwd = options.get("cwd")
        if self.session_id and not cwd:
            cwd = find_session_cwd(self.session_id)   # claude finds a session only from its own directory
        extra = [arg for tool in options.get("allowed_tools", ()) for arg in ("--allowedTools", tool)]
        timeout = options.get("timeout", 300.0) or None
        session_options = self.module.SessionOptions(
            claude_path=find_claude(options.get("claude_bin", "claude")), cwd=cwd, resume_id=self.session_id,
            extra_args=extra, timeout=timeout, resume_timeout=timeout)
        self.session = self.module.ClaudeSession(session_options, Tracer("claude-cli-client"))
        self.session.start()
