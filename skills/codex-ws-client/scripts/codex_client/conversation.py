"""One connection's thread and turns: start or resume, run a turn, build its envelope."""
import time
from dataclasses import dataclass, field
from typing import Any, Optional

from .approvals import METHOD_NOT_SUPPORTED
from .outcome import ClientError, Envelope, Interrupted
from .rpc import is_server_request

CLIENT_NAME = "codex-ws-client"
CLIENT_VERSION = "1.0.0"

# Notifications worth handing to the caller in the envelope, with the field that says what happened.
NOTABLE = {"error": "error", "warning": "message", "configWarning": "summary",
           "deprecationNotice": "summary"}


@dataclass
class ThreadOptions:
    cwd: str
    model: Optional[str] = None
    sandbox: Optional[str] = None
    instructions: Optional[str] = None
    personality: Optional[str] = None
    ephemeral: bool = False
    output_schema: Any = None
    timeout: Optional[float] = None          # seconds to wait for the next message
    resume_timeout: Optional[float] = None   # the same, on a resumed thread
    extra_thread_params: dict = field(default_factory=dict)


class Conversation:
    """A thread on an initialized connection, and the turns sent to it."""

    def __init__(self, rpc, options, renderer, approver, tracer):
        self.rpc = rpc
        self.options = options
        self.renderer = renderer
        self.approver = approver
        self.tracer = tracer
        self.thread_id = None
        self.resumed = False
        self.server_info = {}

    # -- connection and thread ---------------------------------------------

    def initialize(self):
        self.server_info = self._request("initialize", {
            "clientInfo": {"name": CLIENT_NAME, "title": CLIENT_NAME, "version": CLIENT_VERSION}})
        self.rpc.notify("initialized")
        self.tracer.info(f"connected to {self.server_info.get('userAgent', 'codex app-server')}")

    def start_new(self):
        params = self._thread_params()
        params["ephemeral"] = self.options.ephemeral
        result = self._request("thread/start", params)
        self.thread_id = result["thread"]["id"]
        self.resumed = False
        self.tracer.info(f"started thread {self.thread_id}")

    def resume(self, thread_id):
        params = self._thread_params()
        params["threadId"] = thread_id
        self._request("thread/resume", params, timeout=self.options.resume_timeout)
        self.thread_id = thread_id
        self.resumed = True
        self.tracer.info(f"resumed thread {thread_id}")

    def current_id(self):
        return self.thread_id

    def _thread_params(self):
        options = self.options
        params = {"cwd": options.cwd}
        for key, value in (("model", options.model), ("sandbox", options.sandbox),
                           ("developerInstructions", options.instructions),
                           ("personality", options.personality)):
            if value is not None:
                params[key] = value
        return params

    # -- turns ---------------------------------------------------------------

    def run_turn(self, prompt):
        """Runs one turn to its end and renders its envelope; errors end up in the envelope."""
        turn = _TurnState(Envelope(thread_id=self.thread_id, turn_id=None))
        turn.envelope.extra["server"] = self.server_info.get("userAgent")
        try:
            self._run(prompt, turn)
        except KeyboardInterrupt:
            turn.envelope.fail(Interrupted("interrupted by the user"))
        except ClientError as error:
            turn.envelope.fail(error)
        turn.close_metrics()
        self.renderer.turn_done(turn.envelope)
        return turn.envelope

    def _run(self, prompt, turn):
        params = {"threadId": self.thread_id, "input": [{"type": "text", "text": prompt}]}
        if self.options.output_schema is not None:
            params["outputSchema"] = self.options.output_schema
        turn.started_at = time.monotonic()
        result = self._request("turn/start", params, on_message=lambda m: self._handle(m, turn))
        turn.envelope.ids["turn_id"] = result["turn"]["id"]
        self.tracer.info(f"turn {turn.envelope.ids['turn_id']} started")
        while turn.envelope.exit_code is None:
            self._handle(self.rpc.receive(self._timeout()), turn)

    def _timeout(self):
        return self.options.resume_timeout if self.resumed else self.options.timeout

    def _request(self, method, params, timeout=None, on_message=None):
        return self.rpc.request(method, params, timeout if timeout is not None else self._timeout(),
                                on_message or (lambda m: self._handle(m, None)))

    # -- incoming messages ----------------------------------------------------

    def _handle(self, message, turn):
        if is_server_request(message):
            self._answer(message, turn)
            return
        method = message.get("method")
        params = message.get("params") if isinstance(message.get("params"), dict) else {}
        if turn is None or params.get("threadId", self.thread_id) != self.thread_id:
            self._note(method, params, turn)
            return
        handler = self._handlers.get(method)
        if handler:
            handler(self, params, turn)
        else:
            self._note(method, params, turn)

    def _answer(self, message, turn):
        method, params = message["method"], message.get("params") or {}
        decision = self.approver.decide(method, params)
        if decision is None:
            self.tracer.info(f"refused unsupported server request {method}")
            self.rpc.respond_error(message["id"], METHOD_NOT_SUPPORTED,
                                   f"{CLIENT_NAME} does not support {method}")
            return
        result, record = decision
        self.tracer.info(f"{record['decision']} {record['kind']}: {record['request']} ({record['decided_by']})")
        self.rpc.respond(message["id"], result)
        if turn is not None:
            turn.envelope.extra.setdefault("approvals", []).append(record)

    def _note(self, method, params, turn):
        if method in NOTABLE and turn is not None:
            detail = params.get(NOTABLE[method])
            if isinstance(detail, dict):
                detail = detail.get("message") or str(detail)
            turn.envelope.notifications.append({"method": method, "message": str(detail or "")})
            self.tracer.info(f"{method}: {detail}")

    def _on_delta(self, params, turn):
        item_id, piece = params.get("itemId"), params.get("delta") or ""
        if item_id not in turn.streamed:
            if turn.streamed:
                self.renderer.message_break()
                turn.envelope.add_text("\n\n")
            turn.streamed[item_id] = ""
        turn.streamed[item_id] += piece
        turn.envelope.add_text(piece)
        self.renderer.delta(piece)

    def _on_item_started(self, params, turn):
        item = params.get("item") or {}
        if item.get("type") == "commandExecution":
            self.tracer.info(f"command: {item.get('command')}")
        elif item.get("type") in ("fileChange", "mcpToolCall", "dynamicToolCall", "webSearch"):
            self.tracer.info(f"{item['type']} started")

    def _on_item_completed(self, params, turn):
        item = params.get("item") or {}
        if item.get("type") == "agentMessage":
            # Print what the deltas did not carry, if any were lost.
            streamed = turn.streamed.get(item.get("id"), "")
            full = item.get("text") or ""
            if full.startswith(streamed) and len(full) > len(streamed):
                self._on_delta({"itemId": item.get("id"), "delta": full[len(streamed):]}, turn)
        elif item.get("type") == "commandExecution":
            self.tracer.info(f"command {item.get('status')}: exit code {item.get('exitCode')}")

    def _on_token_usage(self, params, turn):
        last = (params.get("tokenUsage") or {}).get("last") or {}
        turn.input_tokens += last.get("inputTokens") or 0
        turn.output_tokens += last.get("outputTokens") or 0

    def _on_turn_completed(self, params, turn):
        completed = params.get("turn") or {}
        turn_id = turn.envelope.ids.get("turn_id")
        if turn_id is not None and completed.get("id") != turn_id:
            return
        turn.envelope.ids["turn_id"] = completed.get("id")
        messages = [item.get("text") or "" for item in completed.get("items") or []
                    if item.get("type") == "agentMessage"]
        if messages:
            turn.envelope.set_final_text("\n\n".join(messages))
        error = completed.get("error") or {}
        turn.envelope.finish(completed.get("status") or "unknown", error.get("message"))
        self.tracer.info(f"turn {completed.get('id')} {turn.envelope.status}")

    _handlers = {
        "item/agentMessage/delta": _on_delta,
        "item/started": _on_item_started,
        "item/completed": _on_item_completed,
        "thread/tokenUsage/updated": _on_token_usage,
        "turn/completed": _on_turn_completed,
    }


class _TurnState:
    """What is known about the running turn while its messages arrive."""

    def __init__(self, envelope):
        self.envelope = envelope
        self.streamed = {}          # agent message item id -> text printed so far
        self.input_tokens = 0
        self.output_tokens = 0
        self.started_at = None

    def close_metrics(self):
        if self.started_at is None:
            return
        self.envelope.metrics = {
            "latency_ms": int((time.monotonic() - self.started_at) * 1000),
            "input_tokens": self.input_tokens,
            "output_tokens": self.output_tokens,
        }
