"""The only module that touches the two client packages (loaded by clients.load_clients), through
their public names: one Codex peer and one Claude peer.

Each peer keeps one connection (Codex: a thread on one app-server connection; Claude: one
session in one claude process) for the whole run and offers the same three calls:
`ask(prompt, deadline) -> envelope dict` (the dict the client's --json prints; errors are in it,
never raised), `interrupt()` (from another thread) and `close()`.
"""
import threading

import claude_client
import codex_client


class Peer:
    """What both peers share: a Session opened on the first ask, one turn at a time, interruptible
    from another thread. A subclass names its client package and opens its Session."""

    client = None

    def __init__(self):
        self.session = None
        self.turn = None
        self.stopping = threading.Event()

    def ask(self, prompt, deadline):
        """One turn; it ends as a timeout at `deadline` (the run's), with the text so far."""
        try:
            if self.session is None:
                self.session = self._open(deadline)
            if self.stopping.is_set():
                raise self.client.Interrupted("interrupted before the turn started")
            if deadline.passed():
                raise self.client.TimedOut("the run reached its limit before the turn started")
            self.turn = self.session.start(prompt)
            if self.stopping.is_set():   # interrupt() came while the turn was starting
                self.turn.interrupt()
            envelope = self.turn.result(max_time=deadline.remaining())
        except self.client.ClientError as error:
            envelope = self.client.Envelope(**self._ids())
            envelope.fail(error)
        answer = envelope.to_dict()
        self._remember(answer)
        return answer

    def interrupt(self):
        self.stopping.set()
        turn = self.turn
        if turn is not None and not turn.finished:
            try:
                turn.interrupt()
            except self.client.ClientError:
                pass

    def close(self):
        if self.session is not None:
            self.session.close()
            self.session = None


class CodexPeer(Peer):
    """Codex through codex_client: at `uri` (None: the default server or the daemon; with `spawn`,
    `codex app-server` started there if nothing answers), resuming `thread_id` if given. `approve`:
    what Codex may do unasked (kinds of APPROVE_CHOICES: commands, file-changes, permissions, all).

    A turn still running on a resumed thread is an earlier run's (one run at a time holds the
    deliberation's lock): killed, or interrupted and not yet ended. Nobody will read it, so it is
    interrupted and waited for before the thread is used."""

    client = codex_client

    def __init__(self, *, uri, token, spawn, codex_bin, connect_timeout, timeout, cwd, approve, thread_id):
        super().__init__()
        approved = set().union(*(codex_client.APPROVE_CHOICES[kind] for kind in approve))
        self.uri = uri
        self.session_options = dict(spawn=spawn, cwd=cwd, token=token, connect_timeout=connect_timeout,
                                    codex_bin=codex_bin, timeout=timeout,
                                    on_server_request=codex_client.ApprovalPolicy(approve=approved))
        self.thread_id = thread_id

    def _open(self, deadline):
        session = codex_client.Session(self.uri, thread_id=self.thread_id, deadline=deadline, **self.session_options)
        if self.thread_id:
            self._stop_left_turn(session, deadline)
        return session

    def _stop_left_turn(self, session, deadline):
        """Resumes the thread, first ending the turn an earlier run left running on it, if any (by the deadline)."""
        try:
            session.open_thread()
        except codex_client.ThreadBusy as busy:
            left = session.client.wait_for_turn(self.thread_id, busy.turn_id)
            left.interrupt()
            left.result(max_time=deadline.remaining())   # its end, or --timeout of silence
            session.open_thread()

    def _ids(self):
        return {"thread_id": self.thread_id, "turn_id": None}

    def _remember(self, envelope):
        self.thread_id = envelope.get("thread_id") or self.thread_id


class ClaudePeer(Peer):
    """Claude through claude_client, resuming `session_id` if given. `keep_warm`: seconds claude is
    kept running after the run (see claude_client.warm); `on_process` is called with the pid of the
    claude process once started."""

    client = claude_client

    def __init__(self, *, claude_bin, cwd, allowed_tools, timeout, keep_warm, session_id, on_process):
        super().__init__()
        self.claude_bin = claude_bin
        self.session_options = dict(cwd=cwd, timeout=timeout, resume_timeout=timeout, keep_warm=keep_warm,
                                    allowed_tools=list(allowed_tools))
        self.session_id = session_id
        self.on_process = on_process

    def _open(self, deadline):
        """claude, started and initialized by `deadline` (the run's)."""
        session = claude_client.Session(self.claude_bin, session_id=self.session_id, deadline=deadline,
                                        **self.session_options)
        self.on_process(session.process.pid)
        return session

    def _ids(self):
        return {"session_id": self.session_id, "thread_id": self.session_id, "turn_id": None}

    def _remember(self, envelope):
        self.session_id = envelope.get("session_id") or self.session_id
