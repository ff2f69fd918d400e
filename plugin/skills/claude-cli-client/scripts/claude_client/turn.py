"""One turn of a claude session, gathered from its stream-json lines into an Envelope."""
import json
import time

from agent_bridge.outcome import Envelope
from agent_bridge.review import plain_review, review_from_output
from agent_bridge.shapes import as_dict, as_int, as_list, as_number, as_text, optional_text
from agent_bridge.turn_base import Turn


def describe_tool(tool, tool_input):
    """'Bash: ls -la' for a shell command, else the tool and its input in short."""
    if isinstance(tool_input, dict) and isinstance(tool_input.get("command"), str):
        return f"{tool}: {tool_input['command']}"
    return f"{tool}: {json.dumps(tool_input, ensure_ascii=False)[:200]}"


# System lines that are not news for the caller: the session's start and "requesting" progress.
QUIET_SYSTEM_SUBTYPES = ("init", "status")


class ClaudeTurn(Turn):
    """One turn of a session: what it produced, gathered from claude's stream-json lines."""

    def __init__(self, session, on_text, on_message=None, review=None, review_note=None):
        self.session = session
        self.on_text = on_text
        self.on_message = on_message
        self.review = review             # the ReviewRequest of a review turn
        self.review_note = review_note   # what the client left out of the diff it sent, if anything
        self.envelope = Envelope(session_id=session.session_id, thread_id=session.session_id, turn_id=None)
        self.approvals = []
        self.tool_uses = {}              # tool_use id -> {"tool", "request", "status"}, in order of use
        self.declined_tool_uses = set()  # ids of the tool uses this client declined
        self.streamed_messages = set()   # assistant message ids whose text arrived as deltas
        self.current_message = None
        self.pieces = 0
        self.started_at = time.monotonic()
        self.result_line = None

    @property
    def message_timeout(self):
        return self.session.turn_timeout()

    def interrupt(self):
        self.session.control.request("interrupt")
        self.session.tracer.info("interrupting the turn")

    def _take_next(self, timeout=None, ask_on_silence=True):
        message = self.session.next_message(self.session.turn_timeout() if timeout is None else timeout)
        if self.on_message is not None:
            self.on_message(message)
        self.apply(message)
        return message

    def _fail(self, error):
        if not self.finished:
            self.session.abort()   # claude is not left in the middle of a turn nobody waits for
        super()._fail(error)

    def apply(self, message):
        kind = message.get("type")
        if kind == "stream_event":
            self._stream_event(as_dict(message.get("event")))
        elif kind == "assistant":
            self._assistant(as_dict(message.get("message")))
        elif kind == "user":
            self._tool_results(as_dict(message.get("message")))
        elif kind == "control_request":
            self.session.answer_control_request(message, self)
        elif kind == "system":
            self.session.note_system(message)
            self.envelope.ids["session_id"] = self.envelope.ids["thread_id"] = self.session.session_id
            if message.get("subtype") not in QUIET_SYSTEM_SUBTYPES:
                self._notify(f"system/{as_text(message.get('subtype')) or 'unknown'}", message)
        elif kind == "rate_limit_event":
            self._notify("rate_limit_event", message)
        elif kind == "result":
            self._result(message)

    def _stream_event(self, event):
        kind = event.get("type")
        if kind == "content_block_delta":   # first: nearly every line of a long answer is one
            delta = as_dict(event.get("delta"))
            if delta.get("type") == "text_delta":
                self.streamed_messages.add(self.current_message)
                self._show(as_text(delta.get("text")))
        elif kind == "message_start":
            self.current_message = optional_text(as_dict(event.get("message")).get("id"))

    def _assistant(self, message):
        streamed = optional_text(message.get("id")) in self.streamed_messages
        for block in map(as_dict, as_list(message.get("content"))):
            if block.get("type") == "text" and not streamed:
                self._show(as_text(block.get("text")))
            elif block.get("type") == "tool_use":
                self.tool_uses[optional_text(block.get("id"))] = {
                    "tool": as_text(block.get("name")),
                    "request": describe_tool(as_text(block.get("name")), as_dict(block.get("input"))),
                    "status": "inProgress"}

    def _tool_results(self, message):
        for block in map(as_dict, as_list(message.get("content"))):
            use = self.tool_uses.get(optional_text(block.get("tool_use_id")))
            if block.get("type") == "tool_result" and use is not None:
                if block.get("tool_use_id") in self.declined_tool_uses:
                    use["status"] = "declined"
                else:
                    use["status"] = "failed" if block.get("is_error") else "completed"

    def _show(self, text):
        if not text:
            return
        if self.pieces and self.current_message not in self.streamed_messages:
            text = "\n\n" + text
        self.pieces += 1
        self.envelope.add_text(text)
        if self.on_text:
            self.on_text(text)

    def _notify(self, method, message):
        detail = {key: value for key, value in as_dict(message).items() if key not in ("type", "session_id", "uuid")}
        self.envelope.notifications.append({"method": method, "message": detail})

    def _result(self, result):
        self.result_line = result
        self.session.session_id = optional_text(result.get("session_id")) or self.session.session_id
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
                self._add_review(result.get("structured_output"))
        self.envelope.ids["turn_id"] = optional_text(result.get("uuid"))

    def _add_review(self, output):
        review = review_from_output(self.review, output) if isinstance(output, dict) \
            else plain_review(self.review, self.envelope.text)
        if self.review_note:
            review["note"] = self.review_note
        self.envelope.extra["review"] = review

    def _close(self):
        envelope = self.envelope
        envelope.ids["session_id"] = envelope.ids["thread_id"] = self.session.session_id
        result = as_dict(self.result_line)
        usage = as_dict(result.get("usage"))
        process_cost = max(0.0, float(as_number(result.get("total_cost_usd"))))
        turn_cost = max(0.0, process_cost - self.session.process_cost_usd)
        if self.result_line is not None:
            self.session.process_cost_usd = process_cost
        envelope.metrics = {
            "latency_ms": int((time.monotonic() - self.started_at) * 1000),
            "input_tokens": max(0, as_int(usage.get("input_tokens"))),
            "output_tokens": max(0, as_int(usage.get("output_tokens"))),
            "cache_read_input_tokens": max(0, as_int(usage.get("cache_read_input_tokens"))),
            "cache_creation_input_tokens": max(0, as_int(usage.get("cache_creation_input_tokens"))),
            "cost_usd": round(turn_cost, 9),
            "session_cost_usd": process_cost,
        }
        if self.approvals:
            envelope.extra["approvals"] = self.approvals
        if self.tool_uses:
            envelope.extra["tools"] = list(self.tool_uses.values())
        envelope.extra["claude_version"] = self.session.claude_version
        return envelope
