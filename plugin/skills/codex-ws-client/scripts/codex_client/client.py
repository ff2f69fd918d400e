"""The library API: connect to `codex app-server`, run turns, answer server requests, interrupt.

    from codex_client import CodexClient

    with CodexClient.connect("ws://127.0.0.1:8765") as client:
        client.start_thread(ThreadOptions(cwd="/path/to/repo"))
        envelope = client.run("Summarize this repo")
        print(envelope.status, envelope.text)

The command-line script is built on this module; see references/library.md.
"""
from __future__ import annotations

import os
from typing import Any, Callable, Dict, Iterable, List, Optional

from .approvals import (APPROVAL_KINDS, QUESTIONS, Answer, ApprovalPolicy, decision_of, describe_request,
                        question_entries)
from agent_bridge import CORE_VERSION
from agent_bridge.deadline import Deadline
from agent_bridge.inbox import Inbox
from agent_bridge.outcome import BadArguments, ClientError, ParseError, TimedOut, TurnFailed
from agent_bridge.review import CUSTOM, DEFAULT_STYLE, ReviewRequest
from .router import Decided, Message
from .rpc import RpcConnection
from agent_bridge.shapes import as_dict, as_list, as_text, is_older, optional_text
from agent_bridge.trace import Tracer
from .transport import open_transport
from .turn import TurnHandle, TurnOptions, notable, user_input
from .turn_record import TurnRecord

CLIENT_NAME = "codex-ws-client"
DEFAULT_URI = "ws://127.0.0.1:8765"
METHOD_NOT_SUPPORTED = -32601
INVALID_REQUEST = -32600
OLDEST_TESTED_SERVER = "0.169.0"      # the pinned codex the test suite runs; newer releases are tested too
PREVIEW_CHARACTERS = 100

ServerRequestPolicy = Callable[[str, Message, Optional[Message]], Any]


class ThreadOptions:
    """How a thread is started or resumed; None leaves the server's default."""

    def __init__(self, cwd: Optional[str] = None, model: Optional[str] = None, sandbox: Optional[str] = None,
                 instructions: Optional[str] = None, personality: Optional[str] = None,
                 approval_policy: Optional[str] = None, ephemeral: bool = False) -> None:
        self.cwd = cwd
        self.model = model
        self.sandbox = sandbox                    # read-only | workspace-write | danger-full-access
        self.instructions = instructions          # developer instructions
        self.personality = personality
        self.approval_policy = approval_policy    # untrusted | on-request | never
        self.ephemeral = ephemeral

    def params(self, resuming: bool = False) -> Dict[str, Any]:
        """A resumed thread keeps its own directory unless `cwd` is given."""
        params: Dict[str, Any] = {}
        if self.cwd or not resuming:
            params["cwd"] = os.path.abspath(self.cwd or os.getcwd())
        for key, value in (("model", self.model), ("sandbox", self.sandbox),
                           ("developerInstructions", self.instructions),
                           ("personality", self.personality), ("approvalPolicy", self.approval_policy)):
            if value is not None:
                params[key] = value
        return params


class CodexClient:
    """A connection to app-server with one current thread."""

    def __init__(self, transport: Any, tracer: Optional[Tracer] = None,
                 on_server_request: Optional[ServerRequestPolicy] = None, timeout: Optional[float] = 300.0,
                 resume_timeout: Optional[float] = 600.0, inbox: Optional[Inbox] = None) -> None:
        """`on_server_request(method, params, item)`: the one policy that answers the server's requests
        (an Answer, a result, or None to refuse); default: ApprovalPolicy(), which declines. `inbox`:
        where the connection is read into (default: one with a reading thread; see agent_bridge.inbox)."""
        self.transport = transport
        self.tracer = tracer or Tracer(CLIENT_NAME)
        self.inbox = inbox or Inbox()
        self.on_server_request = on_server_request or ApprovalPolicy()
        self.rpc = RpcConnection(transport, self.inbox, self.tracer, self._answer, self._note)
        self.timeout = timeout or None
        self.resume_timeout = resume_timeout or None
        self.server_info: Dict[str, Any] = {}
        self.thread_id: Optional[str] = None
        self.resumed = False
        self.thread_models: Dict[str, Optional[str]] = {}   # thread id -> its model, as thread/start or resume said
        self.efforts_by_model: Optional[Dict[str, List[str]]] = None   # model -> the efforts model/list offers

    @classmethod
    def connect(cls, uri: str = DEFAULT_URI, *, token: Optional[str] = None, headers: Iterable[str] = (),
                connect_timeout: Optional[float] = 10.0, ca_file: Optional[str] = None, codex_bin: str = "codex",
                tracer: Optional[Tracer] = None, on_server_request: Optional[ServerRequestPolicy] = None,
                timeout: Optional[float] = 300.0, resume_timeout: Optional[float] = 600.0,
                inbox: Optional[Inbox] = None, deadline: Optional[Deadline] = None) -> "CodexClient":
        """Opens the transport for `uri` (ws://, wss://, unix://[PATH], stdio://) and initializes, within
        `deadline` if given (else TimedOut with setting max_time)."""
        headers = list(headers) + ([f"Authorization: Bearer {token}"] if token else [])
        deadline = deadline or Deadline(None)
        with within(deadline, f"connecting to {uri}"):
            transport = open_transport(uri, headers, deadline.bound(connect_timeout or None), ca_file, codex_bin)
        client = cls(transport, tracer, on_server_request, timeout, resume_timeout, inbox)
        try:
            client.initialize(deadline)
        except BaseException:
            client.close()
            raise
        return client

    def __enter__(self) -> "CodexClient":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self.transport.close()

    @property
    def user_agent(self) -> Optional[str]:
        return optional_text(self.server_info.get("userAgent"))

    # -- connection and threads ------------------------------------------------

    def initialize(self, deadline: Optional[Deadline] = None) -> None:
        self.server_info = as_dict(self.request("initialize", {
            "clientInfo": {"name": CLIENT_NAME, "title": CLIENT_NAME, "version": CORE_VERSION}},
            deadline=deadline))
        self.rpc.notify("initialized")
        self.tracer.info(f"connected to {self.user_agent or 'codex app-server'}")
        version = server_version(self.user_agent)
        if is_older(version, OLDEST_TESTED_SERVER):
            self.tracer.warn(f"warning: codex app-server {version or '(version unknown)'} is older than the oldest "
                             f"version this client is tested with ({OLDEST_TESTED_SERVER})")

    def start_thread(self, options: Optional[ThreadOptions] = None, deadline: Optional[Deadline] = None) -> str:
        options = options or ThreadOptions()
        params = dict(options.params(), ephemeral=options.ephemeral)
        result = self.request("thread/start", params, deadline=deadline)
        self.thread_id = required(result, "thread/start", "thread", "id")
        self.thread_models[self.thread_id] = optional_text(as_dict(result).get("model"))
        self.resumed = False
        self.tracer.info(f"started thread {self.thread_id}")
        return self.thread_id

    def resume_thread(self, thread_id: str, options: Optional[ThreadOptions] = None,
                      deadline: Optional[Deadline] = None) -> str:
        """Resumes a thread for a new turn; ThreadBusy if a turn of it is still running."""
        params = dict((options or ThreadOptions()).params(resuming=True), threadId=thread_id)
        result = as_dict(self.request("thread/resume", params, timeout=self.resume_timeout, deadline=deadline))
        thread = as_dict(result.get("thread"))
        # A review's inner turn (its rootTurnId names the review's turn) stays listed as inProgress after
        # the review ends: only a turn of its own counts.
        running = [turn for turn in map(as_dict, as_list(thread.get("turns")))
                   if turn.get("status") == "inProgress" and turn.get("rootTurnId") in (None, turn.get("id"))]
        if running:
            # A new turn/start would be merged into the running turn, and its answer never seen apart.
            raise ThreadBusy(thread_id, optional_text(running[-1].get("id")))
        self.thread_id = thread_id
        self.thread_models[thread_id] = optional_text(result.get("model"))
        self.resumed = True
        self.tracer.info(f"resumed thread {thread_id}")
        return thread_id

    def list_threads(self, limit: int = 10) -> List[Dict[str, Any]]:
        """The most recent threads, each with the first line of its first prompt as a preview."""
        threads = as_list(as_dict(self.request("thread/list", {"limit": limit})).get("data"))
        return [{"id": t.get("id"), "preview": one_line(as_text(t.get("preview"))), "updated": t.get("updatedAt"),
                 "cwd": t.get("cwd")} for t in map(as_dict, threads[:limit])]

    def read_thread(self, thread_id: str) -> Dict[str, Any]:
        return as_dict(as_dict(self.request("thread/read", {"threadId": thread_id, "includeTurns": True})).get("thread"))

    def list_models(self) -> List[Any]:
        return as_list(as_dict(self.request("model/list", {})).get("data"))

    def request(self, method: str, params: Any, timeout: Optional[float] = None,
                deadline: Optional[Deadline] = None) -> Any:
        """A JSON-RPC request; its answer is waited for `timeout` s (default: the message timeout), and
        no longer than `deadline` allows (then TimedOut with setting max_time)."""
        timeout = timeout or self._message_timeout()
        if deadline is None:
            return self.rpc.request(method, params, timeout)
        with within(deadline, method):
            return self.rpc.request(method, params, deadline.bound(timeout))

    # -- turns ----------------------------------------------------------------

    def run(self, prompt: str, options: Optional[TurnOptions] = None) -> Any:
        """Runs a turn to its end and returns its Envelope (errors are in the envelope too)."""
        return self.start_turn(prompt, options).result()

    def start_turn(self, prompt: str, options: Optional[TurnOptions] = None,
                   thread_id: Optional[str] = None) -> TurnHandle:
        """Starts a turn, on the current thread unless `thread_id` is given; returns its TurnHandle at once.
        Turns of different threads may run at the same time, each waited for on its own thread."""
        options = options or TurnOptions()
        params: Dict[str, Any] = {"threadId": thread_id or self.thread_id,
                                  "input": user_input(prompt, options.images)}
        if options.output_schema is not None:
            params["outputSchema"] = options.output_schema
        if options.effort:
            self._check_effort(options.effort, self.thread_models.get(params["threadId"]))
            params["effort"] = options.effort
        return self._start("turn/start", params, options)

    def _check_effort(self, effort: str, model: Optional[str]) -> None:
        """BadArguments unless `model` offers `effort`, as model/list says. The protocol takes any
        effort a model advertises, so a model the server does not list gets `effort` unchecked."""
        if self.efforts_by_model is None:
            self.efforts_by_model = {as_text(model.get("model")): [
                as_text(as_dict(option).get("reasoningEffort")) for option in as_list(model.get("supportedReasoningEfforts"))]
                for model in map(as_dict, self._all_models())}
        offered = self.efforts_by_model.get(model or "")
        if offered is not None and effort not in offered:
            raise BadArguments(f"reasoning effort {effort!r} is not one {model} offers: {', '.join(offered)}",
                               setting="effort")

    def _all_models(self) -> List[Any]:
        """Every model of model/list, hidden ones too, page by page."""
        models: List[Any] = []
        cursor = None
        while True:
            page = as_dict(self.request("model/list", {"includeHidden": True, "cursor": cursor}))
            models += as_list(page.get("data"))
            cursor = optional_text(page.get("nextCursor"))
            if cursor is None:
                return models

    def start_review(self, request: ReviewRequest, options: Optional[TurnOptions] = None,
                     thread_id: Optional[str] = None) -> TurnHandle:
        """Starts a review (review/start, inline on the thread) of `request`, a ReviewRequest; returns its
        TurnHandle at once. Its envelope gets `review`. Of `options`, only on_text, keep_deltas, on_message,
        deadline and wait_through_silence apply."""
        options = options or TurnOptions()
        if options.images or options.output_schema is not None or options.effort:
            raise BadArguments("a review takes no images, output schema or effort", setting="review")
        params = {"threadId": thread_id or self.thread_id, "target": review_target(request), "delivery": "inline"}
        return self._start("review/start", params, options, review=request)

    def _start(self, method: str, params: Dict[str, Any], options: TurnOptions,
               review: Optional[ReviewRequest] = None) -> TurnHandle:
        record = TurnRecord(params["threadId"], self.user_agent, expect_json=options.output_schema is not None,
                            keep_deltas=options.keep_deltas, review=review)
        handle = TurnHandle(self.rpc, self.tracer, record, options, self._message_timeout(), self._timeout_setting())
        try:
            result = self.request(method, params, deadline=options.deadline)
            turn_id = required(result, method, "turn", "id")
        except ClientError as error:
            record.envelope.fail(error)
            return handle
        record.started(turn_id)
        self.rpc.router.follow(params["threadId"], turn_id)
        self.tracer.info(f"turn {turn_id} started")
        return handle

    def wait_for_turn(self, thread_id: str, turn_id: Optional[str] = None, on_message: Any = None,
                      deadline: Optional[Deadline] = None) -> TurnHandle:
        """A TurnHandle for a turn started earlier, by anyone: the last one unless `turn_id` is given.

        Resuming subscribes to the thread, so a turn still running can be waited for. `on_message` is
        as in TurnOptions. At `deadline` its result() stops waiting (TimedOut, setting max_time) and
        leaves the turn running.
        """
        record = TurnRecord(thread_id, self.user_agent)
        record.started(turn_id)
        handle = TurnHandle(self.rpc, self.tracer, record, TurnOptions(on_message=on_message, deadline=deadline),
                            self.timeout, leave_running=True)
        self.request("thread/resume", {"threadId": thread_id}, self.timeout, deadline)
        self.thread_id = thread_id
        with within(deadline or Deadline(None), "thread/read"):
            turn = handle.read_back()
        if turn is None:
            record.envelope.fail(TurnFailed(f"thread {thread_id} has no turn {turn_id or ''}".rstrip()))
        elif turn.get("status") != "inProgress":
            record.finish_from(turn)
        else:
            self.rpc.router.follow(thread_id, as_text(turn.get("id")))
        return handle

    def next_input_line(self) -> Optional[str]:
        """The next line typed (None at the end of input), the server's messages handled meanwhile.

        Needs `inbox.read_lines_from(stream)` first.
        """
        return self.rpc.router.next_line()

    def _message_timeout(self) -> Optional[float]:
        return self.resume_timeout if self.resumed else self.timeout

    def _timeout_setting(self) -> str:
        return "resume_timeout" if self.resumed else "timeout"

    # -- what the router hands over: server requests, messages of no turn ------------

    def _note(self, message: Message) -> None:
        """A message of no turn: logged if it is worth it."""
        notable(message, self.tracer)

    def _answer(self, message: Message, item: Optional[Message]) -> Decided:
        """Answers a server request with the policy; returns what was decided, for the request's turn.
        `item`: the turn item the request is about, as item/started announced it."""
        method, params = optional_text(message["method"]), as_dict(message.get("params"))
        if method is None:
            self.rpc.respond_error(message["id"], INVALID_REQUEST, "the method must be a string")
            return Decided(message)
        answer = self.on_server_request(method, params, item)
        if answer is None:
            self.tracer.info(f"refused unsupported server request {method}")
            self.rpc.respond_error(message["id"], METHOD_NOT_SUPPORTED, f"{CLIENT_NAME} does not support {method}")
            return Decided(message)
        if not isinstance(answer, Answer):
            answer = Answer(answer)
        self.rpc.respond(message["id"], answer.result)
        if method in APPROVAL_KINDS:
            entry = {"kind": APPROVAL_KINDS[method], "request": describe_request(method, params, item),
                     "decision": decision_of(method, answer.result), "decided_by": answer.decided_by}
            self.tracer.info(f"{entry['decision']} {entry['kind']}: {entry['request']} ({entry['decided_by']})")
            return Decided(message, approvals=[entry])
        if method == QUESTIONS:
            entries = question_entries(params, answer.result, answer.decided_by)
            for entry in entries:
                self.tracer.info(f"codex asked: {entry['question']} (answer: {entry['answer']})")
            return Decided(message, questions=entries)
        return Decided(message)


class within:
    """Turns an error that comes once `deadline` has passed into TimedOut(setting="max_time")."""

    def __init__(self, deadline: Deadline, doing: str) -> None:
        self.deadline, self.doing = deadline, doing

    def __enter__(self) -> None:
        if self.deadline.passed():
            raise self._timed_out()

    def __exit__(self, kind: Any, error: Any, traceback: Any) -> None:
        if isinstance(error, ClientError) and self.deadline.passed():
            raise self._timed_out() from None

    def _timed_out(self) -> TimedOut:
        return TimedOut(f"{self.doing}: stopped at max_time {self.deadline.seconds:g}s", setting="max_time")


def review_target(request: ReviewRequest) -> Any:
    """review/start's target: codex's own when the review has no instructions beyond it; else a custom
    target whose instructions say what to review, then the style's and the caller's instructions."""
    extra = request.instructions_text()
    if not extra or (request.kind == CUSTOM and request.style == DEFAULT_STYLE):
        return request.target()
    return {"type": CUSTOM, "instructions": f"Review {request.description()}.\n\n{extra}\n\n"
                                            "Provide prioritized, actionable findings."}


def required(result: Any, method: str, *path: str) -> str:
    """The text at `path` in a result, or a ParseError naming what is missing."""
    value = result
    for key in path:
        value = as_dict(value).get(key)
    if not isinstance(value, str):
        raise ParseError(f"the answer to {method} has no {'.'.join(path)}")
    return value


class ThreadBusy(TurnFailed):
    def __init__(self, thread_id: str, turn_id: Optional[str]) -> None:
        super().__init__(f"thread {thread_id} is busy: its turn {turn_id} is still running; collect that turn "
                         "first, then send the prompt again", way_out="result")
        self.thread_id, self.turn_id = thread_id, turn_id


def one_line(text: str) -> str:
    """The first line of `text`, cut to PREVIEW_CHARACTERS."""
    line = text.strip().split("\n", 1)[0]
    return line if len(line) <= PREVIEW_CHARACTERS else line[:PREVIEW_CHARACTERS - 1] + "\u2026"


def server_version(user_agent: Optional[str]) -> str:
    """'0.169.0' from a userAgent such as 'codex-ws-client/0.169.0 (Debian 12; x86_64) ...'."""
    first = (user_agent or "").split(" ", 1)[0]
    return first.split("/", 1)[1] if "/" in first else ""
