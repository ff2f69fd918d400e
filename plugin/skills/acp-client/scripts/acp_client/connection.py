"""JSON-RPC 2.0 with an ACP agent over its stdio, routed in one place.

Every line the agent prints goes through `receive`: a response is kept for the request of its
id (an error reply too, raised to that caller when it takes it), a request of the agent is
answered here by the one PermissionPolicy the connection was built with, and what the caller
needs to see (notifications, responses, answered requests) is returned to it.
"""
from __future__ import annotations

import itertools
import json
from dataclasses import dataclass
from typing import Any, Dict, Optional

from agent_bridge.deadline import Deadline
from agent_bridge.inbox import Inbox
from agent_bridge.outcome import TimedOut, TurnFailed
from agent_bridge.shapes import as_dict, as_text, parse_json_object
from agent_bridge.trace import Tracer

from .permissions import PermissionPolicy
from .process import AgentProcess

PERMISSION_REQUEST = "session/request_permission"
METHOD_NOT_FOUND = -32601


class AgentError(TurnFailed):
    """The agent answered a request with a JSON-RPC error: its code and message."""

    def __init__(self, agent: str, method: str, code: Optional[int], message: str) -> None:
        # The first line only: an error line is one line, and the agent's own advice after it names its
        # own command line (gemini: --resume, --list-sessions), not this client's. `reason` keeps it whole.
        first_line = message.strip().split("\n", 1)[0]
        super().__init__(f"{agent} answered {method} with an error: {first_line}" + (f" (code {code})" if code else ""))
        self.method = method
        self.code = code
        self.reason = message


@dataclass
class Received:
    """One message from the agent, after routing; `approval` is the envelope's entry for a
    permission request the policy answered."""
    message: Dict[str, Any]
    approval: Optional[Dict[str, Any]] = None

    @property
    def method(self) -> str:
        return as_text(self.message.get("method"))

    @property
    def is_response(self) -> bool:
        return "method" not in self.message


class Connection:
    def __init__(self, process: AgentProcess, inbox: Inbox, tracer: Tracer, policy: PermissionPolicy) -> None:
        self.process = process
        self.inbox = inbox
        self.tracer = tracer
        self.policy = policy
        self.agent = process.name
        self.request_ids = itertools.count(1)
        self.methods: Dict[int, str] = {}                  # each request waiting for its response
        self.responses: Dict[int, Dict[str, Any]] = {}     # responses that arrived, until taken

    def request(self, method: str, params: Dict[str, Any]) -> int:
        """Sends a request; returns its id (its response arrives through `receive`)."""
        request_id = next(self.request_ids)
        self.methods[request_id] = method
        self.process.send({"jsonrpc": "2.0", "id": request_id, "method": method, "params": params})
        return request_id

    def notify(self, method: str, params: Dict[str, Any]) -> None:
        self.process.send({"jsonrpc": "2.0", "method": method, "params": params})

    def receive(self, timeout: Optional[float]) -> Received:
        """The next message from the agent, routed; TimedOut after `timeout` seconds of silence."""
        _, line = self.inbox.get(timeout, ("message",))
        message = parse_json_object(line, self.tracer, f"{self.agent} sent")
        if "method" not in message:
            request_id = message.get("id")
            if isinstance(request_id, int) and request_id in self.methods:
                self.responses[request_id] = message
            return Received(message)
        if "id" not in message:
            return Received(message)
        return self._answer(message)

    def take_response(self, request_id: int) -> Optional[Dict[str, Any]]:
        """The result of request `request_id` once it has arrived (None before); AgentError for an error reply."""
        response = self.responses.pop(request_id, None)
        if response is None:
            return None
        method = self.methods.pop(request_id)
        if "error" in response:
            error = as_dict(response.get("error"))
            code = error.get("code")
            raise AgentError(self.agent, method, code if isinstance(code, int) else None,
                             readable_error(error.get("message"), error.get("data")))
        return as_dict(response.get("result"))

    def call(self, method: str, params: Dict[str, Any], timeout: Optional[float], deadline: Deadline) -> Dict[str, Any]:
        """Sends a request and waits for its result, at most `timeout` seconds of silence and until
        `deadline`; what else arrives meanwhile is routed and let go."""
        request_id = self.request(method, params)
        while True:
            result = self.take_response(request_id)
            if result is not None:
                return result
            try:
                self.receive(deadline.bound(timeout))
            except TimedOut:
                if deadline.passed():
                    raise TimedOut(f"the call reached its max_time of {deadline.seconds:g}s while {self.agent} "
                                   f"was answering {method}", setting="max_time") from None
                raise TimedOut(f"{self.agent} sent nothing for {timeout:g}s while answering {method}",
                               setting="timeout") from None

    def settle(self, quiet: float, deadline: Deadline) -> None:
        """Routes and lets go of what arrives until the agent has sent nothing for `quiet` seconds,
        or `deadline` passes."""
        while not deadline.passed():
            try:
                self.receive(deadline.bound(quiet))
            except TimedOut:
                return

    def _answer(self, message: Dict[str, Any]) -> Received:
        """Answers a request of the agent: a permission request by the policy; others (file system,
        terminal) this client does not offer."""
        method = as_text(message.get("method"))
        if method == PERMISSION_REQUEST:
            result, approval = self.policy.decide(as_dict(message.get("params")))
            self.tracer.info(f"{approval['decision']} {approval['kind']}: {approval['request']} "
                             f"({approval['decided_by']})")
            self.process.send({"jsonrpc": "2.0", "id": message["id"], "result": result})
            return Received(message, approval)
        self.process.send({"jsonrpc": "2.0", "id": message["id"],
                           "error": {"code": METHOD_NOT_FOUND, "message": f"acp-client does not offer {method}"}})
        return Received(message)


def readable_error(message: Any, data: Any) -> str:
    """An error message as a person reads it: Gemini wraps its API's error JSON in the message, and
    says what an "Internal error" was in `data.details`."""
    text = as_text(message) or "no message"
    try:
        inner = as_text(as_dict(as_dict(json.loads(text)).get("error")).get("message"))
    except ValueError:
        inner = ""
    details = as_text(as_dict(data).get("details"))
    return ": ".join(part for part in (inner or text, details) if part)
