"""A running turn: its messages, its envelope, steering and interrupting it."""
import os

from agent_bridge.outcome import TimedOut
from agent_bridge.review import review_head
from agent_bridge.turn_base import Turn
from .rpc import is_server_request
from agent_bridge.shapes import as_dict, as_list, as_text, optional_text

INTERRUPT_GRACE_SECONDS = 5.0
ABOUT_THE_READING = ("deprecationNotice", "configWarning")


class TurnHandle(Turn):
    """A running turn of one thread: iterate its messages, steer it, interrupt it, or wait for its envelope."""

    def __init__(self, client, record, options, timeout):
        self.client = client
        self.record = record
        self.options = options
        self.timeout = timeout            # for the next message; None: no limit
        self.reading_lines = options.steer_from_input
        self.on_message = options.on_message

    @property
    def envelope(self):
        return self.record.envelope

    @property
    def thread_id(self):
        return self.record.envelope.ids["thread_id"]

    @property
    def turn_id(self):
        return self.record.turn_id

    @property
    def message_timeout(self):
        return self.timeout

    def detach(self):
        """The envelope of a turn left running: it says inProgress. The handle can still wait for the end."""
        import copy   # only a detached turn needs it; kept off the start-up path
        envelope = copy.copy(self.record.close())
        if envelope.exit_code is None:
            envelope.status, envelope.exit_code = "inProgress", 0
            if self.record.review:
                envelope.extra = dict(envelope.extra, review=review_head(self.record.review))   # not the record's
        return envelope

    def interrupt(self):
        self.client.tracer.info(f"interrupting turn {self.turn_id}")
        self.client.rpc.send_request("turn/interrupt", {"threadId": self.thread_id, "turnId": self.turn_id})

    def steer(self, text):
        self.client.tracer.info(f"steering turn {self.turn_id}: {text}")
        self.client.rpc.send_request("turn/steer", {"threadId": self.thread_id, "expectedTurnId": self.turn_id,
                                                    "input": user_input(text, ())},
                                     lambda result, error: error and self.client.tracer.warn(str(error)))

    def _close(self):
        if self.finished:
            self.client.rpc.router.forget(self.turn_id)
        return self.record.close()

    def finish_from(self, turn):
        """Fills the envelope from a turn object read back with thread/read."""
        for item in turn.get("items") or []:
            self.record.add_item(item)
        self.record.finish(turn)
        self.record.started_at -= (turn.get("durationMs") or 0) / 1000

    def apply(self, message):
        """Updates the envelope with one message (and answers it if it is a server request)."""
        client, record = self.client, self.record
        params = as_dict(message.get("params"))
        if is_server_request(message) or params.get("threadId", self.thread_id) != self.thread_id:
            client.handle_message(message, record)
            return
        method = message.get("method")
        if method == "item/agentMessage/delta":
            self._show(record.add_delta(optional_text(params.get("itemId")), as_text(params.get("delta"))))
        elif method == "item/started":
            item = as_dict(params.get("item"))
            record.items_started[optional_text(item.get("id"))] = item
            _log_item_started(client.tracer, item)
        elif method == "item/completed":
            self._item_completed(as_dict(params.get("item")))
        elif method == "turn/diff/updated":
            record.diff = optional_text(params.get("diff"))
        elif method == "thread/tokenUsage/updated":
            record.add_usage(params.get("tokenUsage"), optional_text(params.get("turnId")))
        elif method == "turn/completed":
            turn = as_dict(params.get("turn"))
            if record.turn_id in (None, turn.get("id")):
                record.finish(turn)
                client.tracer.info(f"turn {turn.get('id')} {record.envelope.status}")
        else:
            client.handle_message(message, record)

    def apply_while_reading(self, message):
        """As apply, but what the server says about the client's own reading of the thread (that reading
        all its turns is deprecated, its config) stays out of the turn's envelope."""
        if message.get("method") in ABOUT_THE_READING:
            self.client.handle_message(message, None)
        else:
            self.apply(message)

    def _item_completed(self, item):
        self.record.add_item(item)
        if item.get("type") == "agentMessage":
            missing = self.record.missing_text(item)
            if missing:
                self._show(self.record.add_delta(optional_text(item.get("id")), missing))
            self.record.settle_message(item)
        elif item.get("type") == "commandExecution":
            self.client.tracer.info(f"command {item.get('status')}: exit code {item.get('exitCode')}")

    def _show(self, text):
        if self.options.on_text and text:
            self.options.on_text(text)

    def _take_next(self, timeout=None, ask_on_silence=True):
        """Reads the next message and applies it; returns it (None if a typed line was used instead)."""
        message = self._next_message(self.timeout if timeout is None else timeout,
                                     ask_on_silence)
        if message is not None:
            if self.on_message is not None:
                self.on_message(message)
            self.apply(message)
        return message

    def _next_message(self, timeout, ask_on_silence=True):
        """The next server message, steering with typed lines meanwhile; None if a line was used."""
        try:
            kind, value = self.client.rpc.router.next(timeout, turn_id=self.turn_id, lines=self.reading_lines)
        except TimedOut:
            if not ask_on_silence:
                raise
            return self._after_silence(timeout)
        if kind == "line":
            if value is None:
                self.client.inbox.push_back(kind, value)   # the end of input is for the REPL loop
                self.reading_lines = False
            elif value.strip():
                self.steer(value)
            return None
        return value

    def read_back(self):
        """This turn as thread/read reports it (the thread's last turn if the id is not known yet)."""
        answer = self.client.rpc.request("thread/read", {"threadId": self.thread_id, "includeTurns": True},
                                         self.timeout, self.apply_while_reading)
        turns = [as_dict(turn) for turn in as_list(as_dict(as_dict(answer).get("thread")).get("turns"))]
        if self.turn_id is None:
            turn = turns[-1] if turns else None
            self.record.envelope.ids["turn_id"] = turn and optional_text(turn.get("id"))
            return turn
        return next((t for t in turns if t.get("id") == self.turn_id), None)

    def _after_silence(self, timeout):
        """On a timeout, asks whether the turn in fact ended (a lost notification) before giving up."""
        turn = self.read_back()
        if self.record.finished:
            return None
        if turn is not None and turn.get("status") != "inProgress":
            self.client.tracer.info(f"turn {self.turn_id} had ended; its end was read back with thread/read")
            self.finish_from(turn)
            return None
        raise TimedOut(f"no message from the server for {timeout:g}s; the turn is still running",
                       setting="resume_timeout" if self.client.resumed else "timeout")


def user_input(prompt, images):
    return [{"type": "text", "text": prompt}] + [{"type": "localImage", "path": os.path.abspath(p)} for p in images]


def _log_item_started(tracer, item):
    if item.get("type") == "commandExecution":
        tracer.info(f"command: {item.get('command')}")
    elif item.get("type") in ("fileChange", "mcpToolCall", "dynamicToolCall", "webSearch"):
        tracer.info(f"{item['type']} started")
