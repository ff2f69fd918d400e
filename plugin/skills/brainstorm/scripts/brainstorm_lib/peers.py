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


def process_table():
    """The clients' shared module that tells a live process from a gone one (agent_bridge.jobs):
    process_identity(pid), is_alive(pid, identity)."""
    load_client("codex")
    return importlib.import_module("agent_bridge.jobs")


def failed_envelope(error, **ids):
    """The envelope of a turn that could not run: an error of either client, as its --json shows it."""
    return dict(ids, status=error.status, exit_code=error.exit_code, text="", error=str(error))


class Peer:
    """What both peers share: a Session opened on the first ask, one turn at a time, interruptible
    from another thread. A subclass names its client and opens its Session."""

    name = client = None

    def __init__(self, options):
        self.options = options
        self.package = load_client(self.client)
        self.session = None
        self.turn = None
        self.stopping = threading.Event()

    def ask(self, prompt):
        try:
            if self.session is None:
                self.session = self._open()
            if self.stopping.is_set():
                raise self.package.Interrupted("interrupted before the turn started")
            self.turn = self.session.start(prompt)
            if self.stopping.is_set():   # interrupt() came while the turn was starting
                self.turn.interrupt()
            envelope = self.turn.result().to_dict()
        except self.package.ClientError as error:
            envelope = failed_envelope(error, **self._ids())
        self._remember(envelope)
        return envelope

    def interrupt(self):
        self.stopping.set()
        turn = self.turn
        if turn is not None and not turn.finished:
            try:
                turn.interrupt()
            except self.package.ClientError:
                pass

    def close(self):
        if self.session is not None:
            self.session.close()
            self.session = None


class CodexPeer(Peer):
    """Codex through codex_client. options: uri (None: the default server or the daemon), token,
    codex_bin, spawn, connect_timeout, timeout, cwd, approve (kinds: commands, file-changes,
    permissions, all), thread_id (to resume).

    A turn still running on a resumed thread is an earlier run's (one run at a time holds the
    deliberation's lock): killed, or interrupted and not yet ended. Nobody will read it, so it is
    interrupted and waited for before the thread is used."""

    name, client = "codex", "codex"

    def __init__(self, options):
        super().__init__(options)
        self.thread_id = options.get("thread_id")

    def _open(self):
        codex, options = self.package, self.options
        approve = set().union(*(codex.APPROVE_CHOICES[kind] for kind in options.get("approve", ())))

        def connect(uri=options.get("uri")):
            return codex.Session(uri, thread_id=self.thread_id, cwd=options.get("cwd"), token=options.get("token"),
                                 connect_timeout=options.get("connect_timeout", 10.0),
                                 codex_bin=options.get("codex_bin", "codex"), timeout=options.get("timeout", 300.0),
                                 on_server_request=codex.ApprovalPolicy(approve=approve))
        if not options.get("spawn"):
            session = connect()
        else:
            from codex_client.spawn import check_spawnable, connect_or_spawn
            check_spawnable(options["uri"])
            session, _ = connect_or_spawn(connect, options["uri"], options.get("codex_bin", "codex"),
                                          codex.Tracer("codex-ws-client"), options.get("connect_timeout") or 30)
        if self.thread_id:
            self._stop_left_turn(session)
        return session

    def _stop_left_turn(self, session):
        """Resumes the thread, first ending the turn an earlier run left running on it, if any."""
        from codex_client.client import ThreadBusy
        try:
            session.open_thread()
        except ThreadBusy as busy:
            left = session.client.wait_for_turn(self.thread_id, busy.turn_id)
            left.interrupt()
            left.result()   # its end, or --timeout of silence
            session.open_thread()

    def _ids(self):
        return {"thread_id": self.thread_id, "turn_id": None}

    def _remember(self, envelope):
        self.thread_id = envelope.get("thread_id") or self.thread_id


class ClaudePeer(Peer):
    """Claude through claude_client. options: claude_bin, cwd, allowed_tools, timeout,
    session_id (to resume), keep_warm (seconds claude is kept running after the run, see claude_client.warm),
    on_process (called with the pid of the claude process once started)."""

    name, client = "claude", "claude"

    def __init__(self, options):
        super().__init__(options)
        self.session_id = options.get("session_id")

    def _open(self):
        options = self.options
        timeout = options.get("timeout", 300.0)
        session = self.package.Session(options.get("claude_bin", "claude"), cwd=options.get("cwd"),
                                       session_id=self.session_id, timeout=timeout, resume_timeout=timeout,
                                       keep_warm=options.get("keep_warm"),
                                       allowed_tools=list(options.get("allowed_tools", ())))
        options["on_process"](session.process.pid)
        return session

    def _ids(self):
        return {"session_id": self.session_id, "thread_id": self.session_id, "turn_id": None}

    def _remember(self, envelope):
        self.session_id = envelope.get("session_id") or self.session_id
