"""Session: a claude process in bidirectional stream-json mode, behind the interface
codex_client.Session shares: `ask(prompt) -> envelope dict`, `start(prompt) -> turn`, `review(...) -> turn`,
`close()`.

One process serves every turn of a session (one-shot or REPL). Each turn is a
`user` line in; streamed events, tool permission requests (`can_use_tool`) and a
final `result` line out. The control protocol (initialize, interrupt, can_use_tool)
is answered here; the turn's lines are gathered in turn.py.

    from claude_client import Session

    with Session(cwd="/path/to/repo", allowed_tools=["Read"]) as claude:
        print(claude.ask("Summarize this repo")["text"])
"""
from __future__ import annotations

import os
from typing import Any, Callable, Dict, List, Optional, Tuple, Union

from agent_bridge.inbox import Inbox
from agent_bridge.outcome import (ClientError, ConnectionFailed, Envelope, EnvelopeDict, PeerExited, TimedOut,
                                  TurnFailed)
from agent_bridge.deadline import Deadline
from agent_bridge.review import DEFAULT_STYLE, REVIEW_OUTPUT_SCHEMA, ReviewRequest, review_prompt
from agent_bridge.review_git import Changes
from .control import Control, Decide, NameSetting, Request, Routed, deny_all, library_setting
from .process import ClaudeProcess, claude_arguments, find_claude
from .session_store import find_session_cwd
from agent_bridge.shapes import as_number, is_older, optional_text, parse_json_object
from agent_bridge.trace import Tracer
from .turn import ClaudeTurn, OnMessage, OnText

CLIENT_NAME = "claude-cli-client"
OLDEST_TESTED_CLAUDE = "2.1.197"       # the pinned claude the test suite runs; newer releases are tested too
INITIALIZE_TIMEOUT_SECONDS = 60.0
NO_LIMIT = Deadline(None)


class Session:
    def __init__(self, claude_bin: str = "claude", *, cwd: Optional[str] = None, session_id: Optional[str] = None,
                 timeout: Optional[float] = 300.0, resume_timeout: Optional[float] = 600.0, decide: Decide = deny_all,
                 tracer: Optional[Tracer] = None, read_on_waiting_thread: bool = False,
                 before_wait: Optional[Callable[[], Optional[float]]] = None, keep_warm: Optional[float] = None,
                 deadline: Optional[Deadline] = None, name_setting: Optional[NameSetting] = None,
                 **claude_options: Any) -> None:
        """Starts claude (`claude_bin` names the executable) and initializes it. `session_id` resumes that
        session, in the directory it was made in unless `cwd` is given. `claude_options` become claude's
        own options (model, allowed_tools, add_dir, json_schema, ...: see process.CLAUDE_OPTIONS).
        `decide(tool_name, tool_input) -> Decision` answers tool permission requests.
        `read_on_waiting_thread` and `before_wait`: see agent_bridge.inbox.Inbox (the command line sets them).
        `keep_warm` (seconds, POSIX): claude is kept running that long after the session closes, for the
        next Session of this session id with the same options (see warm.py).
        `deadline`: starting claude ends there (TimedOut, setting "max_time"), as a call's max_time.
        `name_setting(name, value)`: how the reason of a permission request names the settings that would
        let the tool run (default "add_dir /data"; the command line names its options)."""
        self.tracer = tracer or Tracer(CLIENT_NAME)
        self.claude_bin = find_claude(claude_bin)
        self.claude_options = claude_options
        self.own_json_schema = claude_options.get("json_schema")   # for turns; a review brings its own
        if session_id and not cwd:
            cwd = find_session_cwd(session_id)
            self.tracer.info(f"resuming session {session_id} in its own directory {cwd}")
        self.cwd = cwd
        self.resume_id = session_id
        self.session_id = session_id
        self.timeout = timeout or None
        self.resume_timeout = resume_timeout or None
        self.keep_warm = keep_warm
        self.control = Control(self._send_to_claude, self.tracer, decide,
                               [cwd or os.getcwd(), *claude_options.get("add_dir", ())], name_setting or library_setting)
        self.inbox = Inbox(read_on_waiting_thread, before_wait)
        self.process: Any = None             # a ClaudeProcess, or a warm.KeptProcess
        self.claude_version: Optional[str] = None
        self.warned_version = False
        self.process_cost_usd = 0.0          # claude reports cost as a running total for its process
        self._start_process(deadline or NO_LIMIT)

    def __enter__(self) -> Session:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- the interface both clients share -------------------------------------

    def start(self, prompt: str, on_text: OnText = None, on_message: OnMessage = None,
              deadline: Optional[Deadline] = None) -> ClaudeTurn:
        """Sends one user turn and returns its ClaudeTurn at once; `on_text` gets each piece of text,
        `on_message` each line claude prints during the turn, before it is handled. `deadline` bounds
        what the turn needs first (claude restarted for the session's JSON schema) and the turn."""
        deadline = deadline or NO_LIMIT
        self._use_json_schema(self.own_json_schema, deadline)
        return self._send(ClaudeTurn(self, on_text, on_message, deadline=deadline), prompt)

    def review(self, uncommitted: bool = False, base: Optional[str] = None, commit: Optional[str] = None,
               instructions: Optional[str] = None, style: str = DEFAULT_STYLE, on_text: OnText = None,
               on_message: OnMessage = None, deadline: Optional[Deadline] = None) -> ClaudeTurn:
        """Starts a review and returns its ClaudeTurn at once; its envelope gets `review`. The target: exactly
        one of `uncommitted`, `base` (a branch) or `commit`, or `instructions` alone (see ReviewRequest).
        The diff is read with git in the session's directory first (BadArguments: not a repository,
        nothing to review, ...) and sent with the review prompt; claude answers in the review schema."""
        request = ReviewRequest(uncommitted, base, commit, instructions, style)
        changes = Changes(os.path.abspath(self.cwd or os.getcwd()), request)
        diff, note = changes.diff()
        deadline = deadline or NO_LIMIT
        self._use_json_schema(REVIEW_OUTPUT_SCHEMA, deadline)
        return self._send(ClaudeTurn(self, on_text, on_message, review=request, review_note=note, deadline=deadline),
                          review_prompt(request, changes.root, diff, note))

    def _send(self, turn: ClaudeTurn, prompt: str) -> ClaudeTurn:
        try:
            self._send_to_claude({"type": "user", "message": {"role": "user", "content": prompt},
                                  "parent_tool_use_id": None, "session_id": self.session_id or "default"})
        except ConnectionFailed as error:
            turn.abandon(error)
        return turn

    def ask(self, prompt: str, max_time: Optional[float] = None, **turn_options: Any) -> EnvelopeDict:
        """Runs a turn to its end; returns the envelope `--json` prints (errors are in it, not raised).
        With `max_time` (seconds) everything the call does ends then (restarting claude for the
        session's JSON schema, the turn): its status is timeout (see ClaudeTurn.result)."""
        deadline = Deadline(max_time)
        try:
            turn = self.start(prompt, deadline=deadline, **turn_options)
        except ClientError as error:
            envelope = Envelope(session_id=self.session_id, thread_id=self.session_id, turn_id=None)
            envelope.fail(error)
            return envelope.to_dict()
        return turn.result().to_dict()

    def close(self) -> None:
        """Closes claude's input so it can finish on its own, then makes sure it has ended."""
        if self.process is None:
            return
        self.process.close_input()
        self.process.wait(2)
        self.process.stop()
        self.process = None
        self.inbox.discard("message")

    # -- process ---------------------------------------------------------------

    def _use_json_schema(self, schema: Union[str, Dict[str, Any], None], deadline: Deadline) -> None:
        """claude takes the schema of its structured answers when it starts: a turn that needs another
        schema than the running claude has (a review, or a turn after one) restarts claude with it,
        resuming the conversation so far."""
        if schema == self.claude_options.get("json_schema"):
            return
        self.claude_options = dict(self.claude_options, json_schema=schema)
        if self.process is None:
            return
        self.close()
        if not self.claude_options.get("no_session_persistence"):
            self.resume_id = self.session_id
        self._start_process(deadline)

    def _start_process(self, deadline: Deadline) -> None:
        argv = [self.claude_bin, "-p", "--input-format", "stream-json", "--output-format", "stream-json", "--verbose",
                "--include-partial-messages", "--permission-prompt-tool", "stdio",
                *claude_arguments(self.claude_options)]
        resume = ["--resume", self.resume_id] if self.resume_id else []
        self.process = self._warm_process(argv, resume) or ClaudeProcess(argv + resume, self.cwd, self.tracer)
        self.process_cost_usd = self.process.cost_usd
        self.process.start(self.inbox)
        try:
            if self.process.needs_initialize:
                self._control("initialize", INITIALIZE_TIMEOUT_SECONDS, deadline)
        except PeerExited as error:
            self.abort()
            # claude says so only in words on stderr (exit code 1, like any failure): no structured signal.
            if self.resume_id and any("No conversation found" in line for line in error.stderr_tail):
                raise TurnFailed(f"{error} (claude finds a session only from the directory it was created in; "
                                 "without a cwd the client finds that directory)") from None
            raise
        except BaseException:
            self.abort()
            raise

    def _warm_process(self, argv: List[str], resume: List[str]) -> Any:
        """The session's warm claude process if one is kept with these options, else a new one kept
        warm when `keep_warm` asks for it; None: start claude as usual."""
        if os.name != "posix" or (not self.resume_id and not self.keep_warm):
            return None
        from . import warm   # kept off the start-up path of the calls that do not use it
        key = warm.options_key(argv, self.cwd or os.getcwd())
        process = warm.attach(self.resume_id, key, self.keep_warm, self.tracer) if self.resume_id else None
        if process is None and self.keep_warm:
            process = warm.start_keeper(argv + resume, self.cwd or os.getcwd(), key, self.keep_warm, self.tracer)
        return process

    def start_new(self) -> None:
        """Ends this claude process and starts another with a fresh session."""
        self.close()
        self.resume_id = None
        self.session_id = None
        self._start_process(NO_LIMIT)

    def abort(self) -> None:
        if self.process is not None:
            self.process.stop()
            self.process = None

    def turn_timeout(self) -> Optional[float]:
        return self.resume_timeout if self.resume_id else self.timeout

    def interrupt(self) -> Request:
        """Asks claude to end the running turn; claude's answer comes among its lines."""
        return self.control.request("interrupt")

    def next_input_line(self, deadline: Deadline = NO_LIMIT) -> Optional[str]:
        """The next line typed (None at the end of input); needs `inbox.read_lines_from(stream)`.
        claude's lines meanwhile are routed as any others are."""
        while True:
            try:
                kind, value = self.inbox.get(deadline.remaining(), ("message", "line"))
            except TimedOut:
                raise reached(deadline, "the session") from None
            if kind == "line":
                return value
            self._route(value)

    # -- claude's lines: the one reader ------------------------------------------------

    def next_message(self, timeout: Optional[float]) -> Tuple[Dict[str, Any], Routed]:
        """claude's next line and what routing it gave (see `_route`). TimedOut after `timeout` seconds of
        silence; an error that ends claude's output also fails the control requests still waiting."""
        try:
            _, line = self.inbox.get(timeout, ("message",))
        except TimedOut:
            raise TimedOut(f"claude printed nothing for {timeout:g}s; it was stopped",
                           setting="resume_timeout" if self.resume_id else "timeout") from None
        except ConnectionFailed as error:
            self.control.fail_pending(f"claude ended before answering: {error}")
            raise
        return self._route(line)

    def _route(self, line: str) -> Tuple[Dict[str, Any], Routed]:
        """Every line of claude's goes through here: the session records what it learns from it, and
        a control line is routed (a response to the request it answers, a request of claude's answered)."""
        message = parse_json_object(line, self.tracer, "claude printed")
        kind = message.get("type")
        if kind == "system" and message.get("subtype") == "init":
            self.session_id = optional_text(message.get("session_id")) or self.session_id
            self.claude_version = optional_text(message.get("claude_code_version")) or self.claude_version
            self._check_version()
        elif kind == "result":
            self.session_id = optional_text(message.get("session_id")) or self.session_id
            self.process_cost_usd = max(0.0, float(as_number(message.get("total_cost_usd"))))
        return message, self.control.route(message)

    def _send_to_claude(self, message: Dict[str, Any]) -> None:
        self.process.send(message)

    def _control(self, subtype: str, timeout: float, deadline: Deadline) -> Dict[str, Any]:
        """Sends a control request and waits for its response (used before any turn)."""
        request = self.control.request(subtype)
        while not request.answered:
            try:
                self.next_message(deadline.bound(timeout))
            except TimedOut:
                if deadline.passed():
                    raise reached(deadline, "starting claude") from None
                raise
        if request.error is not None:
            raise ConnectionFailed(f"claude refused {subtype}: {request.error}")
        return request.response

    def _check_version(self) -> None:
        version = self.claude_version or ""
        if not self.warned_version and is_older(version, OLDEST_TESTED_CLAUDE):
            self.warned_version = True
            self.tracer.warn(f"warning: claude {version or '(version unknown)'} is older than the oldest version "
                             f"this client is tested with ({OLDEST_TESTED_CLAUDE})")


def reached(deadline: Deadline, what: str) -> TimedOut:
    return TimedOut(f"{what} reached its max_time of {deadline.seconds:g}s and was stopped", setting="max_time")
