"""The library API: connect to `codex app-server`, run turns, answer server requests, interrupt.

    from codex_client import CodexClient

    with CodexClient.connect("ws://127.0.0.1:8765") as client:
        client.start_thread(ThreadOptions(cwd="/path/to/repo"))
        envelope = client.run("Summarize this repo")
        print(envelope.status, envelope.text)

The command-line script is built on this module; see references/library.md.
"""
import os

from .approvals import APPROVAL_KINDS, QUESTIONS, Answer, ApprovalPolicy, decision_of, describe, question_entries
from agent_bridge.outcome import BadArguments, ClientError, ParseError, TurnFailed
from agent_bridge.review import CUSTOM, DEFAULT_STYLE
from .rpc import RpcConnection, is_server_request
from agent_bridge.inbox import Inbox
from agent_bridge.shapes import as_dict, as_list, as_text, is_older, optional_text
from agent_bridge.trace import Tracer
from .transport import open_transport
from .turn import TurnHandle, user_input
from .turn_record import TurnRecord

CLIENT_NAME = "codex-ws-client"
CLIENT_VERSION = "1.1.0"
DEFAULT_URI = "ws://127.0.0.1:8765"
METHOD_NOT_SUPPORTED = -32601
INVALID_REQUEST = -32600
OLDEST_TESTED_SERVER = "0.169.0"      # the pinned codex the test suite runs; newer releases are tested too
PREVIEW_CHARACTERS = 100

# Notifications worth handing to the caller in the envelope, with the field that says what happened.
NOTABLE = {"error": "error", "warning": "message", "configWarning": "summary",
           "deprecationNotice": "summary"}


class ThreadOptions:
    """How a thread is started or resumed; None leaves the server's default."""

    def __init__(self, cwd=None, model=None, sandbox=None, instructions=None, personality=None,
                 approval_policy=None, ephemeral=False):
        self.cwd = cwd
        self.model = model
        self.sandbox = sandbox                    # read-only | workspace-write | danger-full-access
        self.instructions = instructions          # developer instructions
        self.personality = personality
        self.approval_policy = approval_policy    # untrusted | on-request | never
        self.ephemeral = ephemeral

    def params(self, resuming=False):
        """A resumed thread keeps its own directory unless `cwd` is given."""
        params = {}
        if self.cwd or not resuming:
            params["cwd"] = os.path.abspath(self.cwd or os.getcwd())
        for key, value in (("model", self.model), ("sandbox", self.sandbox),
                           ("developerInstructions", self.instructions),
                           ("personality", self.personality), ("approvalPolicy", self.approval_policy)):
            if value is not None:
                params[key] = value
        return params


class TurnOptions:
    """What goes with one prompt."""

    def __init__(self, images=(), output_schema=None, effort=None, on_text=None, steer_from_input=False,
                 keep_deltas=True, on_message=None):
        self.images = images                      # local image paths
        self.output_schema = output_schema        # the answer must be JSON following this schema
        self.effort = effort                      # reasoning effort, e.g. low | medium | high
        self.on_text = on_text                    # called with each piece of answer text as it arrives
        self.steer_from_input = steer_from_input  # lines read by the inbox while the turn runs steer it
        # False when on_text shows the text and nobody needs a copy: a long answer is then not held
        # twice (the final text from turn/completed is kept either way).
        self.keep_deltas = keep_deltas
        self.on_message = on_message              # called with each message the turn reads, before it is handled


class CodexClient:
    """A connection to app-server with one current thread."""

    def __init__(self, transport, tracer=None, on_server_request=None, timeout=300.0, resume_timeout=600.0,
                 read_on_waiting_thread=False):
        self.transport = transport
        self.tracer = tracer or Tracer(CLIENT_NAME)
        self.inbox = Inbox(read_on_waiting_thread)
        self.rpc = RpcConnection(transport, self.inbox, self.tracer)
        self.on_server_request = on_server_request or ApprovalPolicy()
        self.timeout = timeout or None
        self.resume_timeout = resume_timeout or None
        self.server_info = {}
        self.thread_id = None
        self.resumed = False
        self.thread_models = {}          # thread id -> its model, as thread/start or thread/resume said
        self.efforts_by_model = None     # model -> the reasoning efforts model/list says it offers

    @classmethod
    def connect(cls, uri=DEFAULT_URI, *, token=None, headers=(), connect_timeout=10.0, ca_file=None,
                codex_bin="codex", tracer=None, on_server_request=None, timeout=300.0, resume_timeout=600.0,
                read_on_waiting_thread=False):
        """Opens the transport for `uri` (ws://, wss://, unix://[PATH], stdio://) and initializes.
        `read_on_waiting_thread`: see agent_bridge.inbox.Inbox (the command line sets it)."""
        headers = list(headers) + ([f"Authorization: Bearer {token}"] if token else [])
        transport = open_transport(uri, headers, connect_timeout or None, ca_file, codex_bin)
        client = cls(transport, tracer, on_server_request, timeout, resume_timeout, read_on_waiting_thread)
        try:
            client.initialize()
        except BaseException:
            client.close()
            raise
        return client

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def close(self):
        self.transport.close()

    @property
    def user_agent(self):
        return optional_text(self.server_info.get("userAgent"))

    # -- connection and threads ------------------------------------------------

    def initialize(self):
        self.server_info = as_dict(self.request("initialize", {
            "clientInfo": {"name": CLIENT_NAME, "title": CLIENT_NAME, "version": CLIENT_VERSION}}))
        self.rpc.notify("initialized")
        self.tracer.info(f"connected to {self.user_agent or 'codex app-server'}")
        version = server_version(self.user_agent)
        if is_older(version, OLDEST_TESTED_SERVER):
            self.tracer.warn(f"warning: codex app-server {version or '(version unknown)'} is older than the oldest "
                             f"version this client is tested with ({OLDEST_TESTED_SERVER})")

    def start_thread(self, options=None):
        options = options or ThreadOptions()
        params = dict(options.params(), ephemeral=options.ephemeral)
        result = self.request("thread/start", params)
        self.thread_id = required(result, "thread/start", "thread", "id")
        self.thread_models[self.thread_id] = optional_text(as_dict(result).get("model"))
        self.resumed = False
        self.tracer.info(f"started thread {self.thread_id}")
        return self.thread_id

    def resume_thread(self, thread_id, options=None):
        """Resumes a thread for a new turn; ThreadBusy if a turn of it is still running."""
        params = dict((options or ThreadOptions()).params(resuming=True), threadId=thread_id)
        result = as_dict(self.request("thread/resume", params, timeout=self.resume_timeout))
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

    def list_threads(self, limit=10):
        """The most recent threads, each with the first line of its first prompt as a preview."""
        threads = as_list(as_dict(self.request("thread/list", {"limit": limit})).get("data"))
        return [{"id": t.get("id"), "preview": one_line(as_text(t.get("preview"))), "updated": t.get("updatedAt"),
                 "cwd": t.get("cwd")} for t in map(as_dict, threads[:limit])]

    def read_thread(self, thread_id):
        return as_dict(as_dict(self.request("thread/read", {"threadId": thread_id, "includeTurns": True})).get("thread"))

    def list_models(self):
        return as_list(as_dict(self.request("model/list", {})).get("data"))

    def request(self, method, params, timeout=None):
        """A JSON-RPC request whose stray messages are handled as outside any turn."""
        return self.rpc.request(method, params, timeout or self._message_timeout(),
                                lambda message: self.handle_message(message, None))

    # -- turns ----------------------------------------------------------------

    def run(self, prompt, options=None):
        """Runs a turn to its end and returns its Envelope (errors are in the envelope too)."""
        return self.start_turn(prompt, options).result()

    def start_turn(self, prompt, options=None, thread_id=None):
        """Starts a turn, on the current thread unless `thread_id` is given; returns its TurnHandle at once.
        Turns of different threads may run at the same time, each waited for on its own thread."""
        options = options or TurnOptions()
        params = {"threadId": thread_id or self.thread_id, "input": user_input(prompt, options.images)}
        if options.output_schema is not None:
            params["outputSchema"] = options.output_schema
        if options.effort:
            self._check_effort(options.effort, self.thread_models.get(params["threadId"]))
            params["effort"] = options.effort
        return self._start("turn/start", params, options)

    def _check_effort(self, effort, model):
        """BadArguments unless `model` offers `effort`, as model/list says. The protocol takes any
        effort a model advertises, so a model the server does not list gets `effort` unchecked."""
        if self.efforts_by_model is None:
            self.efforts_by_model = {as_text(model.get("model")): [
                as_text(as_dict(option).get("reasoningEffort")) for option in as_list(model.get("supportedReasoningEfforts"))]
                for model in map(as_dict, self._all_models())}
        offered = self.efforts_by_model.get(model)
        if offered is not None and effort not in offered:
            raise BadArguments(f"reasoning effort {effort!r} is not one {model} offers: {', '.join(offered)}",
                               setting="effort")

    def _all_models(self):
        """Every model of model/list, hidden ones too, page by page."""
        models, cursor = [], None
        while True:
            page = as_dict(self.request("model/list", {"includeHidden": True, "cursor": cursor}))
            models += as_list(page.get("data"))
            cursor = optional_text(page.get("nextCursor"))
            if cursor is None:
                return models

    def start_review(self, request, options=None, thread_id=None):
        """Starts a review (review/start, inline on the thread) of `request`, a ReviewRequest; returns its
        TurnHandle at once. Its envelope gets `review`. Of `options`, only on_text and keep_deltas apply."""
        options = options or TurnOptions()
        if options.images or options.output_schema is not None or options.effort:
            raise BadArguments("a review takes no images, output schema or effort", setting="review")
        params = {"threadId": thread_id or self.thread_id, "target": review_target(request), "delivery": "inline"}
        return self._start("review/start", params, options, review=request)

    def _start(self, method, params, options, review=None):
        record = TurnRecord(params["threadId"], self.user_agent, expect_json=options.output_schema is not None,
                            keep_deltas=options.keep_deltas, review=review)
        handle = TurnHandle(self, record, options, self._message_timeout())
        try:
            result = self.rpc.request(method, params, self._message_timeout(), lambda message: handle.apply(message))
        except ClientError as error:
            record.envelope.fail(error)
            return handle
        try:
            record.envelope.ids["turn_id"] = required(result, method, "turn", "id")
        except ClientError as error:
            record.envelope.fail(error)
        self.tracer.info(f"turn {record.turn_id} started")
        return handle

    def wait_for_turn(self, thread_id, turn_id=None, on_message=None):
        """A TurnHandle for a turn started earlier, by anyone: the last one unless `turn_id` is given.

        Resuming subscribes to the thread, so a turn still running can be waited for. `on_message` is
        as in TurnOptions.
        """
        record = TurnRecord(thread_id, self.user_agent)
        record.envelope.ids["turn_id"] = turn_id
        handle = TurnHandle(self, record, TurnOptions(on_message=on_message), self.timeout)
        self.rpc.request("thread/resume", {"threadId": thread_id}, self.timeout, handle.apply_while_reading)
        self.thread_id = thread_id
        turn = handle.read_back()
        if turn is None:
            record.envelope.fail(TurnFailed(f"thread {thread_id} has no turn {turn_id or ''}".rstrip()))
        elif turn.get("status") != "inProgress" and not record.finished:
            handle.finish_from(turn)
        return handle

    def next_input_line(self):
        """The next line typed (None at the end of input), handling server messages meanwhile.

        Needs `inbox.read_lines_from(stream)` first.
        """
        while True:
            kind, value = self.rpc.router.next(None, lines=True)
            if kind == "line":
                return value
            self.handle_message(value, None)

    def _message_timeout(self):
        return self.resume_timeout if self.resumed else self.timeout

    # -- incoming messages outside or inside a turn ------------------------------

    def handle_message(self, message, record):
        """A notification or server request, outside a turn (record None) or for one."""
        if is_server_request(message):
            self._answer(message, record)
            return
        method = optional_text(message.get("method"))
        params = as_dict(message.get("params"))
        if method in NOTABLE:
            detail = params.get(NOTABLE[method])
            if isinstance(detail, dict):
                detail = detail.get("message") or str(detail)
            self.tracer.info(f"{method}: {detail}")
            if record is not None:
                record.envelope.notifications.append({"method": method, "message": str(detail or "")})

    def _answer(self, message, record):
        if not self.rpc.first_time(message):
            return
        method, params = optional_text(message["method"]), as_dict(message.get("params"))
        if method is None:
            self.rpc.respond_error(message["id"], INVALID_REQUEST, "the method must be a string")
            return
        item = record.items_started.get(optional_text(params.get("itemId"))) if record is not None else None
        answer = self.on_server_request(method, params, item)
        if answer is None:
            self.tracer.info(f"refused unsupported server request {method}")
            self.rpc.respond_error(message["id"], METHOD_NOT_SUPPORTED, f"{CLIENT_NAME} does not support {method}")
            return
        if not isinstance(answer, Answer):
            answer = Answer(answer)
        self.rpc.respond(message["id"], answer.result)
        if method in APPROVAL_KINDS:
            entry = {"kind": APPROVAL_KINDS[method], "request": describe(method, params, item),
                     "decision": decision_of(method, answer.result), "decided_by": answer.decided_by}
            self.tracer.info(f"{entry['decision']} {entry['kind']}: {entry['request']} ({entry['decided_by']})")
            if record is not None:
                record.approvals.append(entry)
        elif method == QUESTIONS:
            for entry in question_entries(params, answer.result, answer.decided_by):
                self.tracer.info(f"codex asked: {entry['question']} (answer: {entry['answer']})")
                if record is not None:
                    record.questions.append(entry)
                    record.envelope.notifications.append({"method": method, "message": entry["question"]})


def review_target(request):
    """review/start's target: codex's own when the review has no instructions beyond it; else a custom
    target whose instructions say what to review, then the style's and the caller's instructions."""
    extra = request.instructions_text()
    if not extra or (request.kind == CUSTOM and request.style == DEFAULT_STYLE):
        return request.target()
    return {"type": CUSTOM, "instructions": f"Review {request.description()}.\n\n{extra}\n\n"
                                            "Provide prioritized, actionable findings."}


def required(result, method, *path):
    """The text at `path` in a result, or a ParseError naming what is missing."""
    value = result
    for key in path:
        value = as_dict(value).get(key)
    if not isinstance(value, str):
        raise ParseError(f"the answer to {method} has no {'.'.join(path)}")
    return value


class ThreadBusy(TurnFailed):
    def __init__(self, thread_id, turn_id):
        super().__init__(f"thread {thread_id} is busy: its turn {turn_id} is still running; collect that turn "
                         "first, then send the prompt again", way_out="result")
        self.thread_id, self.turn_id = thread_id, turn_id


def one_line(text):
    """The first line of `text`, cut to PREVIEW_CHARACTERS."""
    line = text.strip().split("\n", 1)[0]
    return line if len(line) <= PREVIEW_CHARACTERS else line[:PREVIEW_CHARACTERS - 1] + "\u2026"


def server_version(user_agent):
    """'0.169.0' from a userAgent such as 'codex-ws-client/0.169.0 (Debian 12; x86_64) ...'."""
    first = (user_agent or "").split(" ", 1)[0]
    return first.split("/", 1)[1] if "/" in first else ""
