"""One turn of a claude session, gathered from its stream-json lines into an Envelope."""
from __future__ import annotations

import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable, Dict, List, Optional, Set

from agent_bridge.deadline import Deadline
from agent_bridge.outcome import ClientError, Envelope, Interrupted
from agent_bridge.review import ReviewRequest, plain_review, review_from_output
from agent_bridge.shapes import as_dict, as_int, as_list, as_number, as_text, optional_text
from agent_bridge.turn_base import Turn
from .control import Approval, Request, Routed, describe_tool

if TYPE_CHECKING:
    from .session import Session

OnText = Optional[Callable[[str], None]]
OnMessage = Optional[Callable[[Dict[str, Any]], None]]

# System lines that are not news for the caller: the session's start and "requesting" progress.
QUIET_SYSTEM_SUBTYPES = ("init", "status")
# The line a warm session's keeper (keeper.py) puts among claude's when it has claude interrupt the turn
# because the session is being ended: the turn ends interrupted, for this caller as for a Ctrl-C.
ENDED_BY_KEEPER = "keeper_ended_session"


@dataclass
class ResultLine:
    """What the envelope takes from claude's `result` line, the turn's last."""
    input_tokens: int = 0
    output_tokens: int = 0
    cache_read_input_tokens: int = 0
    cache_creation_input_tokens: int = 0
    process_cost_usd: float = 0.0     # a running total for claude's process

    @classmethod
    def read(cls, result: Dict[str, Any]) -> ResultLine:
        usage = as_dict(result.get("usage"))

        def tokens(name: str) -> int:
            return max(0, as_int(usage.get(name)))
        return cls(tokens("input_tokens"), tokens("output_tokens"), tokens("cache_read_input_tokens"),
                   tokens("cache_creation_input_tokens"), max(0.0, float(as_number(result.get("total_cost_usd")))))


class ClaudeTurn(Turn):
    """One turn of a session: what it produced, gathered from claude's stream-json lines."""

    def __init__(self, session: Session, on_text: OnText, on_message: OnMessage = None,
                 review: Optional[ReviewRequest] = None, review_note: Optional[str] = None,
                 deadline: Deadline = Deadline(None)) -> None:
        self.session = session
        self.on_text = on_text
        self.on_message = on_message
        self.review = review             # the ReviewRequest of a review turn
        self.review_note = review_note   # what the client left out of the diff it sent, if anything
        self.deadline = deadline         # where the call this turn is part of ends (see `result`)
        self._envelope = Envelope(session_id=session.session_id, thread_id=session.session_id, turn_id=None)
        self.approvals: List[Dict[str, str]] = []
        self.tool_uses: Dict[Optional[str], Dict[str, str]] = {}   # tool_use id -> tool, request, status
        self.declined_tool_uses: Set[Optional[str]] = set()        # ids of the tool uses this client declined
        self.streamed_messages: Set[Optional[str]] = set()         # assistant message ids whose text came as deltas
        self.current_message: Optional[str] = None
        self.pieces = 0
        self.started_at = time.monotonic()
        self.cost_before = session.process_cost_usd   # what claude's process had spent before this turn
        self.result_line: Optional[ResultLine] = None
        self.silence_ends_turn = True
        self.interrupted_by_keeper: Optional[Interrupted] = None

    @property
    def envelope(self) -> Envelope:
        return self._envelope

    @property
    def message_timeout(self) -> Optional[float]:
        return self.session.turn_timeout() if self.silence_ends_turn else None

    def wait_through_silence(self) -> None:
        """From now on a silence of claude's does not end the turn (a detached job's supervisor marks
        the job stalled instead)."""
        self.silence_ends_turn = False

    def result(self, max_time: Optional[float] = None) -> Envelope:
        """As Turn.result; the turn also ends at its deadline, if that comes first, as a timeout."""
        if not self.deadline.cuts(max_time):
            return super().result(max_time)
        return self.result_by(self.deadline)

    def interrupt(self) -> None:
        self.session.interrupt()
        self.session.tracer.info("interrupting the turn")

    def _take_next(self, timeout: Optional[float] = None, ask_on_silence: bool = True) -> Dict[str, Any]:
        message, routed = self.session.next_message(self.message_timeout if timeout is None else timeout)
        if self.on_message is not None:
            self.on_message(message)
        self.apply(message, routed)
        return message

    def _fail(self, error: ClientError) -> None:
        if not self.finished:
            self.session.abort()   # claude is not left in the middle of a turn nobody waits for
        super()._fail(self.interrupted_by_keeper or error)

    def apply(self, message: Dict[str, Any], routed: Routed = None) -> None:
        """Takes one line of claude's into the envelope; `routed`: what the session's routing gave for it."""
        kind = message.get("type")
        if kind == "stream_event":
            self._stream_event(as_dict(message.get("event")))
        elif kind == "assistant":
            self._assistant(as_dict(message.get("message")))
        elif kind == "user":
            self._tool_results(as_dict(message.get("message")))
        elif isinstance(routed, Approval):
            self._approval(routed)
        elif isinstance(routed, Request) and routed.error is not None:
            self.envelope.notifications.append({"method": "control/error",
                                                "message": {"request": routed.subtype, "error": routed.error}})
        elif kind == "system":
            self.envelope.ids["session_id"] = self.envelope.ids["thread_id"] = self.session.session_id
            if message.get("subtype") not in QUIET_SYSTEM_SUBTYPES:
                self._notify(f"system/{as_text(message.get('subtype')) or 'unknown'}", message)
        elif kind == "rate_limit_event":
            self._notify("rate_limit_event", message)
        elif kind == "result":
            self._result(message)
        elif kind == ENDED_BY_KEEPER:
            self.interrupted_by_keeper = Interrupted(as_text(message.get("message")))

    def _approval(self, approval: Approval) -> None:
        self.approvals.append(approval.entry)
        if approval.declined:
            self.declined_tool_uses.add(approval.tool_use_id)

    def _stream_event(self, event: Dict[str, Any]) -> None:
        kind = event.get("type")
        if kind == "content_block_delta":   # first: nearly every line of a long answer is one
            delta = as_dict(event.get("delta"))
            if delta.get("type") == "text_delta":
                self.streamed_messages.add(self.current_message)
                self._show(as_text(delta.get("text")))
        elif kind == "message_start":
            self.current_message = optional_text(as_dict(event.get("message")).get("id"))

    def _assistant(self, message: Dict[str, Any]) -> None:
        streamed = optional_text(message.get("id")) in self.streamed_messages
        for block in map(as_dict, as_list(message.get("content"))):
            if block.get("type") == "text" and not streamed:
                self._show(as_text(block.get("text")))
            elif block.get("type") == "tool_use":
                self.tool_uses[optional_text(block.get("id"))] = {
                    "tool": as_text(block.get("name")),
                    "request": describe_tool(as_text(block.get("name")), as_dict(block.get("input"))),
                    "status": "inProgress"}

    def _tool_results(self, message: Dict[str, Any]) -> None:
        for block in map(as_dict, as_list(message.get("content"))):
            use = self.tool_uses.get(optional_text(block.get("tool_use_id")))
            if block.get("type") == "tool_result" and use is not None:
                if block.get("tool_use_id") in self.declined_tool_uses:
                    use["status"] = "declined"
                else:
                    use["status"] = "failed" if block.get("is_error") else "completed"

    def _show(self, text: str) -> None:
        if not text:
            return
        if self.pieces and self.current_message not in self.streamed_messages:
            text = "\n\n" + text
        self.pieces += 1
        self.envelope.add_text(text)
        if self.on_text:
            self.on_text(text)

    def _notify(self, method: str, message: Any) -> None:
        detail = {key: value for key, value in as_dict(message).items() if key not in ("type", "session_id", "uuid")}
        self.envelope.notifications.append({"method": method, "message": detail})

    def _result(self, result: Dict[str, Any]) -> None:
        self.result_line = ResultLine.read(result)
        if isinstance(result.get("result"), str):
            self.envelope.set_final_text(result["result"])
        if "structured_output" in result:   # the answer to --json-schema, already parsed by claude
            self.envelope.extra["output"] = result["structured_output"]
        for denial in as_list(result.get("permission_denials")):
            self._notify("permission_denial", denial)
        failed = result.get("is_error") not in (False, None) or result.get("subtype") not in ("success", None)
        if failed:
            reason = as_text(result.get("result")) or ", ".join(map(str, as_list(result.get("errors")))) \
                or str(result.get("subtype"))
            kind = "" if result.get("subtype") == "success" else f" ({result.get('subtype')})"
            self.envelope.finish("failed", f"claude reported an error{kind}: {reason}")
        else:
            self.envelope.finish("completed")
            if self.review:
                self._add_review(self.review, result.get("structured_output"))
        self.envelope.ids["turn_id"] = optional_text(result.get("uuid"))
        if self.interrupted_by_keeper:
            self.envelope.fail(self.interrupted_by_keeper)

    def _add_review(self, request: ReviewRequest, output: Any) -> None:
        review = review_from_output(request, output) if isinstance(output, dict) \
            else plain_review(request, self.envelope.text)
        if self.review_note:
            review["note"] = self.review_note
        self.envelope.extra["review"] = review

    def _close(self) -> Envelope:
        envelope = self.envelope
        envelope.ids["session_id"] = envelope.ids["thread_id"] = self.session.session_id
        line = self.result_line or ResultLine()
        envelope.metrics = {
            "latency_ms": int((time.monotonic() - self.started_at) * 1000),
            "input_tokens": line.input_tokens,
            "output_tokens": line.output_tokens,
            "cache_read_input_tokens": line.cache_read_input_tokens,
            "cache_creation_input_tokens": line.cache_creation_input_tokens,
            "cost_usd": round(max(0.0, line.process_cost_usd - self.cost_before), 9),
            "session_cost_usd": line.process_cost_usd,
        }
        if self.approvals:
            envelope.extra["approvals"] = self.approvals
        if self.tool_uses:
            envelope.extra["tools"] = list(self.tool_uses.values())
        envelope.extra["claude_version"] = self.session.claude_version
        return envelope
