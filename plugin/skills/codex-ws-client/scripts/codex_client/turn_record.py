"""What one turn did, gathered from its notifications or from a finished turn read back."""
from __future__ import annotations

import json
import time
from typing import Any, Dict, List, Optional, Tuple

from agent_bridge.outcome import Envelope, ParseError
from agent_bridge.review import review_from_text, review_head
from agent_bridge.shapes import as_dict, as_list, as_text, as_int, optional_int, optional_text


class TurnRecord:
    """Accumulates a turn's text, commands, file changes, diff, approvals and token counts."""

    def __init__(self, thread_id: Optional[str], server: Optional[str] = None, expect_json: bool = False,
                 keep_deltas: bool = True, review: Any = None) -> None:
        self.envelope = Envelope(thread_id=thread_id, turn_id=None)
        if server:
            self.envelope.extra["server"] = server
        self.expect_json = expect_json
        self.keep_deltas = keep_deltas   # off: streamed text is shown, not kept (the final text still is)
        self.streamed: Dict[Optional[str], int] = {}   # agent message item id -> characters of its text so far
        # (item id,) of the agent message streaming last, whose deltas are kept; () before any
        self.message_streaming: Tuple[Optional[str], ...] = ()
        self.commands: List[Dict[str, Any]] = []
        self.file_changes: List[Dict[str, Any]] = []
        self.approvals: List[Dict[str, Any]] = []
        self.questions: List[Dict[str, Any]] = []         # what Codex asked the user, and the answers
        self.diff: Optional[str] = None
        self.review = review        # the ReviewRequest of a review turn
        self.review_text: Optional[str] = None     # the review as codex rendered it when it left review mode
        # turn id (None: not said) -> [input, output] tokens: a resumed thread replays the usage of its
        # previous turn, which must not count for this one.
        self.usage: Dict[Optional[str], List[int]] = {}
        self.started_at = time.monotonic()

    def started(self, turn_id: Optional[str]) -> None:
        """The server has said the turn's id (turn/start's answer), or the caller has."""
        self.envelope.ids["turn_id"] = turn_id

    @property
    def turn_id(self) -> Optional[str]:
        return self.envelope.ids["turn_id"]

    @property
    def finished(self) -> bool:
        return self.envelope.exit_code is not None

    def add_delta(self, item_id: Optional[str], piece: str) -> str:
        """Adds streamed text; returns what a reader should be shown (with a break between messages)."""
        separator = ""
        if item_id not in self.streamed:
            separator = "\n\n" if self.streamed else ""
            self.streamed[item_id] = 0
            if self.keep_deltas:
                if separator:
                    self.envelope.add_text(separator)
                self.envelope.mark_message_start()
                self.message_streaming = (item_id,)
        self.streamed[item_id] += len(piece)
        if self.keep_deltas:
            self.envelope.add_text(piece)
        return separator + piece

    def settle_message(self, item: Dict[str, Any]) -> None:
        """A completed agent message's text is kept as the item's own string in place of its deltas (a
        10 MB answer in 100,000 deltas took a third more memory as pieces), up to the turn's final text."""
        if self.message_streaming == (optional_text(item.get("id")),):
            self.envelope.replace_message_text(as_text(item.get("text")))

    def missing_text(self, item: Dict[str, Any]) -> str:
        """The end of a completed agent message that its deltas did not carry (deltas are its prefix)."""
        received = self.streamed.get(optional_text(item.get("id")), 0)
        return as_text(item.get("text"))[received:]

    def add_item(self, item: Dict[str, Any]) -> None:
        """A completed item: commands and file changes go in the envelope."""
        kind = item.get("type")
        if kind == "commandExecution":
            self.commands.append({"command": as_text(item.get("command")), "cwd": optional_text(item.get("cwd")),
                                  "exit_code": optional_int(item.get("exitCode")),
                                  "status": optional_text(item.get("status")),
                                  "duration_ms": optional_int(item.get("durationMs"))})
        elif kind == "exitedReviewMode":
            self.review_text = as_text(item.get("review"))
        elif kind == "fileChange":
            for change in map(as_dict, as_list(item.get("changes"))):
                self.file_changes.append({"path": as_text(change.get("path")),
                                          "kind": optional_text(as_dict(change.get("kind")).get("type")),
                                          "status": optional_text(item.get("status"))})

    def decided(self, method: str, approvals: List[Dict[str, Any]], questions: List[Dict[str, Any]]) -> None:
        """A server request of the turn was answered: what was approved or declined, what was asked."""
        self.approvals += approvals
        self.questions += questions
        for entry in questions:
            self.notify(method, entry["question"])

    def notify(self, method: str, message: str) -> None:
        """A notification for the caller (a warning, an error, a request the server refused)."""
        self.envelope.notifications.append({"method": method, "message": message})

    def set_diff(self, diff: Optional[str]) -> None:
        self.diff = diff

    def add_usage(self, token_usage: Any, turn_id: Optional[str] = None) -> None:
        last = as_dict(as_dict(token_usage).get("last"))
        counts = self.usage.setdefault(turn_id, [0, 0])
        counts[0] += max(0, as_int(last.get("inputTokens")))
        counts[1] += max(0, as_int(last.get("outputTokens")))

    def finish(self, turn: Dict[str, Any]) -> None:
        """The turn object of turn/completed or thread/read decides status, error and final text."""
        self.envelope.ids["turn_id"] = optional_text(turn.get("id")) or self.turn_id
        messages = [as_text(item.get("text")) for item in map(as_dict, as_list(turn.get("items")))
                    if item.get("type") == "agentMessage"]
        if messages:
            self.envelope.set_final_text("\n\n".join(messages))
        status = optional_text(turn.get("status")) or "unknown"
        self.envelope.finish(status, optional_text(as_dict(turn.get("error")).get("message")))
        if self.expect_json and self.envelope.exit_code == 0:
            self._parse_output()
        if self.review and self.envelope.exit_code == 0:
            # The server sends only the text it renders from the model's review output.
            text = self.envelope.text if self.review_text is None else self.review_text
            self.envelope.extra["review"] = review_from_text(self.review, text)

    def finish_from(self, turn: Dict[str, Any]) -> None:
        """Fills the envelope from a turn object read back with thread/read."""
        for item in turn.get("items") or []:
            self.add_item(item)
        self.finish(turn)
        self.started_at -= (turn.get("durationMs") or 0) / 1000

    def in_progress(self) -> Envelope:
        """A copy of the envelope of a turn left running: it says inProgress."""
        import copy   # only a detached turn needs it; kept off the start-up path
        envelope = copy.copy(self.close())
        if envelope.exit_code is None:
            envelope.status, envelope.exit_code = "inProgress", 0
            if self.review:
                envelope.extra = dict(envelope.extra, review=review_head(self.review))   # not the record's
        return envelope

    def _parse_output(self) -> None:
        try:
            self.envelope.extra["output"] = json.loads(self.envelope.text)
        except ValueError as error:
            self.envelope.fail(ParseError(f"the answer is not the JSON its output schema asked for: {error}",
                                          setting="output_schema"))

    def _tokens(self, which: int) -> Optional[int]:
        reported = [self.usage[key][which] for key in {None, self.turn_id} if key in self.usage]
        if not reported and self.review:
            return None   # codex reports no usage for a review's turn: unknown, not 0
        return sum(reported)

    def close(self) -> Envelope:
        """Puts the gathered lists and metrics into the envelope."""
        extra = self.envelope.extra
        for key, value in (("commands", self.commands), ("file_changes", self.file_changes),
                           ("approvals", self.approvals), ("questions", self.questions)):
            if value:
                extra[key] = value
        if self.diff:
            extra["diff"] = self.diff
        self.envelope.metrics = {"latency_ms": int((time.monotonic() - self.started_at) * 1000),
                                 "input_tokens": self._tokens(0), "output_tokens": self._tokens(1)}
        return self.envelope
