"""What one turn did, gathered from its notifications or from a finished turn read back."""
import json
import time

from .outcome import Envelope, ParseError


class TurnRecord:
    """Accumulates a turn's text, commands, file changes, diff, approvals and token counts."""

    def __init__(self, thread_id, server=None, expect_json=False):
        self.envelope = Envelope(thread_id=thread_id, turn_id=None)
        if server:
            self.envelope.extra["server"] = server
        self.expect_json = expect_json
        self.streamed = {}          # agent message item id -> text received so far
        self.items_started = {}     # item id -> the item as item/started announced it
        self.commands = []
        self.file_changes = []
        self.approvals = []
        self.diff = None
        self.input_tokens = 0
        self.output_tokens = 0
        self.started_at = time.monotonic()

    @property
    def turn_id(self):
        return self.envelope.ids["turn_id"]

    @property
    def finished(self):
        return self.envelope.exit_code is not None

    def add_delta(self, item_id, piece):
        """Adds streamed text; returns what a reader should be shown (with a break between messages)."""
        shown = ""
        if item_id not in self.streamed:
            if self.streamed:
                shown = "\n\n"
            self.streamed[item_id] = ""
        self.streamed[item_id] += piece
        shown += piece
        self.envelope.add_text(shown)
        return shown

    def missing_text(self, item):
        """The part of a completed agent message that its deltas did not carry."""
        streamed = self.streamed.get(item.get("id"), "")
        full = item.get("text") or ""
        return full[len(streamed):] if full.startswith(streamed) else ""

    def add_item(self, item):
        """A completed item: commands and file changes go in the envelope."""
        kind = item.get("type")
        if kind == "commandExecution":
            self.commands.append({"command": item.get("command") or "", "cwd": item.get("cwd"),
                                  "exit_code": item.get("exitCode"), "status": item.get("status"),
                                  "duration_ms": item.get("durationMs")})
        elif kind == "fileChange":
            for change in item.get("changes") or []:
                self.file_changes.append({"path": change.get("path") or "",
                                          "kind": (change.get("kind") or {}).get("type"),
                                          "status": item.get("status")})

    def add_usage(self, token_usage):
        last = (token_usage or {}).get("last") or {}
        self.input_tokens += last.get("inputTokens") or 0
        self.output_tokens += last.get("outputTokens") or 0

    def finish(self, turn):
        """The turn object of turn/completed or thread/read decides status, error and final text."""
        self.envelope.ids["turn_id"] = turn.get("id")
        messages = [item.get("text") or "" for item in turn.get("items") or []
                    if item.get("type") == "agentMessage"]
        if messages:
            self.envelope.set_final_text("\n\n".join(messages))
        error = turn.get("error") or {}
        self.envelope.finish(turn.get("status") or "unknown", error.get("message"))
        if self.expect_json and self.envelope.exit_code == 0:
            self._parse_output()

    def _parse_output(self):
        try:
            self.envelope.extra["output"] = json.loads(self.envelope.text)
        except ValueError as error:
            self.envelope.fail(ParseError(f"the answer is not the JSON --output-schema asked for: {error}"))

    def close(self, with_latency=True):
        """Puts the gathered lists and metrics into the envelope."""
        extra = self.envelope.extra
        for key, value in (("commands", self.commands), ("file_changes", self.file_changes),
                           ("approvals", self.approvals)):
            if value:
                extra[key] = value
        if self.diff:
            extra["diff"] = self.diff
        metrics = {"input_tokens": self.input_tokens, "output_tokens": self.output_tokens}
        if with_latency:
            metrics["latency_ms"] = int((time.monotonic() - self.started_at) * 1000)
        self.envelope.metrics = metrics
        return self.envelope
