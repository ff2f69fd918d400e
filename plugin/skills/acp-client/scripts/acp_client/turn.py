"""One prompt turn of an ACP session, gathered from the agent's `session/update` notifications
and the answer to its `session/prompt` into an Envelope."""
from __future__ import annotations

import time
from typing import Any, Callable, Dict, List, Optional, Set, Tuple

from agent_bridge.outcome import ClientError, Envelope, TimedOut
from agent_bridge.review import ReviewRequest
from agent_bridge.shapes import as_dict, as_int, as_list, as_text, optional_text
from agent_bridge.turn_base import Turn

from .connection import AgentError, Connection, Received
from .review import review_of_answer

# How the agent says a turn ended (StopReason) -> the envelope's status.
STOP_STATUS = {"end_turn": "completed", "cancelled": "interrupted"}
# ACP's tool call statuses in the words of the other clients' envelopes.
TOOL_STATUS = {"pending": "pending", "in_progress": "inProgress", "completed": "completed", "failed": "failed"}
EDIT_KINDS = ("edit", "delete", "move")

OnText = Callable[[str], None]
OnMessage = Callable[[Dict[str, Any]], None]


class AcpTurn(Turn):
    def __init__(self, connection: Connection, session_id: str, prompt_request: Optional[int],
                 message_timeout: Optional[float], agent_version: Optional[str],
                 on_text: Optional[OnText] = None, on_message: Optional[OnMessage] = None,
                 review: Optional[ReviewRequest] = None, review_note: Optional[str] = None) -> None:
        """`prompt_request`: the id of the turn's session/prompt request (None: it could not be sent).
        `review`: the ReviewRequest of a review turn, `review_note` what its diff left out."""
        self.connection = connection
        self.session_id = session_id
        self.prompt_request = prompt_request
        self._message_timeout = message_timeout
        self.agent_version = agent_version
        self.on_text = on_text
        self.on_message = on_message
        self.review = review
        self.review_note = review_note
        self._envelope = Envelope(session_id=session_id, thread_id=session_id, turn_id=None)
        self.approvals: List[Dict[str, Any]] = []
        self.tools: Dict[str, Dict[str, Any]] = {}        # toolCallId -> entry, in order of first report
        self.declined: Set[str] = set()                   # tool calls whose permission this client declined
        self.file_changes: Dict[str, Dict[str, Any]] = {}  # path -> entry
        self.plan: Optional[List[Dict[str, Any]]] = None
        self.stop_reason: Optional[str] = None
        self.cancelled = False                            # whether this client sent session/cancel
        self.usage: Dict[str, Any] = {}
        self.started_at = time.monotonic()

    @property
    def envelope(self) -> Envelope:
        return self._envelope

    @property
    def message_timeout(self) -> Optional[float]:
        return self._message_timeout

    def interrupt(self) -> None:
        self.cancelled = True
        self.connection.notify("session/cancel", {"sessionId": self.session_id})
        self.connection.tracer.info("cancelling the turn")

    def _take_next(self, timeout: Optional[float] = None, ask_on_silence: bool = True) -> Optional[Dict[str, Any]]:
        wait = self.message_timeout if timeout is None else timeout
        try:
            received = self.connection.receive(wait)
        except TimedOut:
            raise TimedOut(f"{self.connection.agent} sent nothing for {wait:g}s; the turn was cancelled",
                           setting="timeout") from None
        if self.on_message is not None:
            self.on_message(received.message)
        self._apply(received)
        return received.message

    def _fail(self, error: ClientError) -> None:
        if not self.finished and self.prompt_request is not None:
            try:
                self.interrupt()   # the agent is not left working on a turn nobody waits for
            except ClientError:
                pass
        super()._fail(error)

    def _apply(self, received: Received) -> None:
        if received.is_response:
            self._response()
        elif received.approval is not None:
            self._approval(received)
        elif received.method == "session/update":
            params = as_dict(received.message.get("params"))
            if params.get("sessionId") == self.session_id:
                self._update(as_dict(params.get("update")))

    def _response(self) -> None:
        if self.prompt_request is None:
            return
        try:
            result = self.connection.take_response(self.prompt_request)
        except AgentError as error:
            self.envelope.finish("failed", str(error))
            return
        if result is not None:
            self._finish(result)

    def _update(self, update: Dict[str, Any]) -> None:
        kind = update.get("sessionUpdate")
        if kind == "agent_message_chunk":   # first: nearly every update of a long answer is one
            content = as_dict(update.get("content"))
            if content.get("type") == "text":
                self._show(as_text(content.get("text")))
        elif kind in ("tool_call", "tool_call_update"):
            self._tool_call(update)
        elif kind == "plan":
            self.plan = [{"content": as_text(entry.get("content")), "status": optional_text(entry.get("status")),
                          "priority": optional_text(entry.get("priority"))}
                         for entry in map(as_dict, as_list(update.get("entries")))]

    def _approval(self, received: Received) -> None:
        approval = received.approval or {}
        self.approvals.append(approval)
        tool_call = as_dict(as_dict(received.message.get("params")).get("toolCall"))
        tool_call_id = as_text(tool_call.get("toolCallId"))
        if approval.get("decision") == "decline":
            self.declined.add(tool_call_id)
        self._tool_call(tool_call)

    def _tool_call(self, update: Dict[str, Any]) -> None:
        tool_call_id = as_text(update.get("toolCallId"))
        entry = self.tools.setdefault(tool_call_id, {"id": tool_call_id, "title": "", "kind": None, "status": None})
        entry["title"] = as_text(update.get("title")) or entry["title"]
        entry["kind"] = optional_text(update.get("kind")) or entry["kind"]
        status = TOOL_STATUS.get(as_text(update.get("status")), entry["status"])
        entry["status"] = "declined" if tool_call_id in self.declined and status != "completed" else status
        for path, kind in _changed_files(update, entry["kind"]):
            self.file_changes.setdefault(path, {"path": path, "kind": kind, "tool": tool_call_id})
        for change in self.file_changes.values():
            if change["tool"] == tool_call_id:
                change["status"] = entry["status"]

    def _show(self, text: str) -> None:
        if not text:
            return
        self.envelope.add_text(text)
        if self.on_text:
            self.on_text(text)

    def _finish(self, result: Dict[str, Any]) -> None:
        self.stop_reason = optional_text(result.get("stopReason"))
        self.usage = as_dict(as_dict(as_dict(result.get("_meta")).get("quota")).get("token_count"))
        status = STOP_STATUS.get(self.stop_reason or "", "failed")
        error = None
        if status == "interrupted" and not self.cancelled:   # the agent's own doing, e.g. a rejection that aborts
            status = "failed"
            rejected = any(approval.get("decision") == "decline" for approval in self.approvals)
            error = f"{self.connection.agent} cancelled the turn itself" + (
                " after a permission was rejected" if rejected else "")
        elif status == "failed":
            error = f"{self.connection.agent} ended the turn with stop reason {self.stop_reason!r}"
        self.envelope.finish(status, error)
        if self.review and status == "completed":
            self.envelope.extra["review"] = review_of_answer(self.review, self.envelope.text, self.review_note)

    def _close(self) -> Envelope:
        envelope = self.envelope
        envelope.metrics = {"latency_ms": int((time.monotonic() - self.started_at) * 1000),
                            "input_tokens": max(0, as_int(self.usage.get("input_tokens"))),
                            "output_tokens": max(0, as_int(self.usage.get("output_tokens")))}
        if self.approvals:
            envelope.extra["approvals"] = self.approvals
        if self.tools:
            envelope.extra["tools"] = list(self.tools.values())
        if self.file_changes:
            envelope.extra["file_changes"] = [{key: change.get(key) for key in ("path", "kind", "status")}
                                              for change in self.file_changes.values()]
        if self.plan is not None:
            envelope.extra["plan"] = self.plan
        envelope.extra["stop_reason"] = self.stop_reason
        envelope.extra["agent_version"] = self.agent_version
        return envelope


def _changed_files(update: Dict[str, Any], kind: Optional[str]) -> List[Tuple[str, str]]:
    """(path, add|delete|update) of each file a tool call shows a diff of, or, for an edit, names."""
    changed = [(content["path"], _change_kind(content)) for content in map(as_dict, as_list(update.get("content")))
               if content.get("type") == "diff" and isinstance(content.get("path"), str)]
    if kind in EDIT_KINDS:
        changed += [(location["path"], "update") for location in map(as_dict, as_list(update.get("locations")))
                    if isinstance(location.get("path"), str)]
    return changed


def _change_kind(diff: Dict[str, Any]) -> str:
    if not diff.get("oldText"):
        return "add"
    return "delete" if diff.get("newText") == "" else "update"
