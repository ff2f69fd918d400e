"""Session: one connection to `codex app-server` and its current thread, behind the interface
claude_client.Session shares: `ask(prompt) -> envelope dict`, `start(prompt) -> turn`, `review(...) -> turn`,
`close()`.

    from codex_client import Session

    with Session("ws://127.0.0.1:8765", cwd="/path/to/repo") as codex:
        print(codex.ask("Summarize this repo")["text"])
"""
from __future__ import annotations

import os
from typing import Any, Dict, Optional

from agent_bridge.deadline import Deadline
from agent_bridge.outcome import ClientError, Envelope, EnvelopeDict
from agent_bridge.review import DEFAULT_STYLE, ReviewRequest
from agent_bridge.trace import Tracer

from .client import CLIENT_NAME, CodexClient, ThreadOptions, within
from .turn import TurnHandle, TurnOptions


class Session:
    def __init__(self, uri: Optional[str] = None, *, thread_id: Optional[str] = None, cwd: Optional[str] = None,
                 model: Optional[str] = None, sandbox: Optional[str] = None, instructions: Optional[str] = None,
                 personality: Optional[str] = None, approval_policy: Optional[str] = None, ephemeral: bool = False,
                 spawn: bool = False, deadline: Optional[Deadline] = None, **connect_options: Any) -> None:
        """Connects (`connect_options` as CodexClient.connect takes them: token, headers, timeout,
        on_server_request, ...). Without `uri`: a server at the default address, else the per-user daemon,
        started if need be (`connection` then says which). With `spawn`, a `uri` where nothing answers gets
        `codex app-server` started there, left running (`spawned` then describes it). `deadline` bounds all
        of it (TimedOut with setting max_time). The thread is started, or `thread_id` resumed, by the first
        turn or by `open_thread()`."""
        self.thread_options = ThreadOptions(cwd=cwd, model=model, sandbox=sandbox, instructions=instructions,
                                            personality=personality, approval_policy=approval_policy,
                                            ephemeral=ephemeral)
        self.resume_id = thread_id
        self.connection: Optional[Dict[str, str]] = None
        self.spawned: Optional[Dict[str, Any]] = None
        deadline = deadline or Deadline(None)
        tracer = connect_options.get("tracer") or Tracer(CLIENT_NAME)
        codex_bin = connect_options.get("codex_bin", "codex")

        def connect(found: Optional[str] = uri) -> CodexClient:
            return CodexClient.connect(found or "", deadline=deadline, **connect_options)
        with within(deadline, f"connecting to {uri or 'the default server'}"):
            if spawn:
                from .spawn import check_spawnable, connect_or_spawn   # kept off the start-up path of other calls
                check_spawnable(uri)
                self.client, self.spawned = connect_or_spawn(
                    connect, uri or "", codex_bin, tracer, deadline.bound(connect_options.get("connect_timeout") or 30))
            elif uri is None:
                from .default_server import connect_default   # kept off the start-up path of calls given a URI
                self.client, self.connection = connect_default(connect, codex_bin, tracer, deadline)
            else:
                self.client = connect()

    def __enter__(self) -> "Session":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def thread_id(self) -> Optional[str]:
        return self.client.thread_id

    def open_thread(self, deadline: Optional[Deadline] = None) -> str:
        """Resumes the thread the session was given, else starts one; returns its id. Within `deadline`
        if given (else TimedOut, setting max_time)."""
        if self.resume_id:
            return self.client.resume_thread(self.resume_id, self.thread_options, deadline)
        return self.client.start_thread(self.thread_options, deadline)

    def start_new(self) -> str:
        """Starts a fresh thread with the same options; later turns go there."""
        self.resume_id = None
        return self.open_thread()

    def start(self, prompt: str, **turn_options: Any) -> TurnHandle:
        """Starts a turn and returns its TurnHandle at once. `turn_options`: images, output_schema,
        effort, on_text, steer_from_input, keep_deltas, on_message, deadline, wait_through_silence (see
        TurnOptions); a deadline bounds opening the thread too."""
        if self.client.thread_id is None:
            self.open_thread(turn_options.get("deadline"))
        return self.client.start_turn(prompt, TurnOptions(**turn_options))

    def review(self, uncommitted: bool = False, base: Optional[str] = None, commit: Optional[str] = None,
               instructions: Optional[str] = None, style: str = DEFAULT_STYLE, **turn_options: Any) -> TurnHandle:
        """Starts a review and returns its TurnHandle at once; its envelope gets `review`. The target: exactly
        one of `uncommitted`, `base` (a branch) or `commit`, or `instructions` alone (see ReviewRequest).
        The thread's directory is checked with git first (BadArguments: not a repository, nothing to
        review, ...), unless a resumed thread keeps its own directory. `turn_options`: on_text, keep_deltas,
        on_message, deadline, wait_through_silence."""
        request = ReviewRequest(uncommitted, base, commit, instructions, style)
        if self.thread_options.cwd or not self.resume_id:
            from agent_bridge.review_git import Changes   # runs git: kept off the start-up path of a turn
            Changes(os.path.abspath(self.thread_options.cwd or os.getcwd()), request)   # checks them
        if self.client.thread_id is None:
            self.open_thread(turn_options.get("deadline"))
        return self.client.start_review(request, TurnOptions(**turn_options))

    def ask(self, prompt: str, max_time: Optional[float] = None, **turn_options: Any) -> EnvelopeDict:
        """Runs a turn to its end; returns the envelope `--json` prints (errors are in it, not raised, an
        error opening the thread too). With `max_time` (seconds), opening the thread, starting the turn
        and the turn all end by then: a turn still running is stopped, its status timeout (see
        Turn.result)."""
        try:
            turn = self.start(prompt, deadline=Deadline(max_time), **turn_options)
        except ClientError as error:
            envelope = Envelope(thread_id=self.thread_id or self.resume_id, turn_id=None)
            envelope.fail(error)
            return envelope.to_dict()
        return turn.result().to_dict()

    def close(self) -> None:
        self.client.close()
