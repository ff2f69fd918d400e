"""A running turn: its messages, its envelope, steering and interrupting it."""
import copy
import os
import time

from .outcome import ClientError, Interrupted, TimedOut
from .rpc import as_message, is_server_request
from .shapes import as_dict, as_list, as_text, optional_text

INTERRUPT_GRACE_SECONDS = 5.0


class TurnHandle:
    """A running turn: iterate its messages, steer it, interrupt it, or wait for its envelope."""

    def __init__(self, client, record, options):
        self.client = client
        self.record = record
        self.options = options
        self.reading_lines = options.steer_from_input

    @property
    def turn_id(self):
        return self.record.turn_id

    def events(self):
        """Yields each message of the turn as it arrives, already applied to the envelope."""
        while not self.record.finished:
            message = self._take_next()
            if message is not None:
                yield message
            message = None   # a multi-megabyte message is let go before the next one is read

    def result(self, interrupt_turn=True):
        """Waits for the turn to end. Ctrl-C interrupts it (twice: stop waiting at once), or with
        `interrupt_turn` False only stops waiting, the turn going on."""
        try:
            while not self.record.finished:
                self._take_next()
        except KeyboardInterrupt:
            if interrupt_turn:
                self._interrupt_and_wait()
            else:
                self.record.envelope.fail(Interrupted("stopped waiting; the turn is still running"))
        except ClientError as error:
            self.record.envelope.fail(error)
        return self.record.close()

    def detach(self):
        """The envelope of a turn left running: it says inProgress. The handle can still wait for the end."""
        envelope = copy.copy(self.record.close())
        if envelope.exit_code is None:
            envelope.status, envelope.exit_code = "inProgress", 0
        return envelope

    def interrupt(self):
        self.client.rpc.send_request("turn/interrupt", {"threadId": self.client.thread_id, "turnId": self.turn_id})

    def steer(self, text):
        self.client.tracer.info(f"steering turn {self.turn_id}: {text}")
        self.client.rpc.send_request("turn/steer", {"threadId": self.client.thread_id, "expectedTurnId": self.turn_id,
                                                    "input": user_input(text, ())},
                                     lambda result, error: error and self.client.tracer.warn(str(error)))

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
        if client.rpc.take_response(message):
            return
        if is_server_request(message) or params.get("threadId", client.thread_id) != client.thread_id:
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

    def _item_completed(self, item):
        self.record.add_item(item)
        if item.get("type") == "agentMessage":
            missing = self.record.missing_text(item)
            if missing:
                self._show(self.record.add_delta(optional_text(item.get("id")), missing))
        elif item.get("type") == "commandExecution":
            self.client.tracer.info(f"command {item.get('status')}: exit code {item.get('exitCode')}")

    def _show(self, text):
        if self.options.on_text and text:
            self.options.on_text(text)

    def _take_next(self, timeout=None, ask_on_silence=True):
        """Reads the next message and applies it; returns it (None if a typed line was used instead)."""
        message = self._next_message(self.client._message_timeout() if timeout is None else timeout,
                                     ask_on_silence)
        if message is not None:
            self.apply(message)
        return message

    def _next_message(self, timeout, ask_on_silence=True):
        """The next server message, steering with typed lines meanwhile; None if a line was used."""
        wanted = ("message", "line") if self.reading_lines else ("message",)
        try:
            kind, value = self.client.inbox.get(timeout, wanted)
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
        return as_message(value)

    def read_back(self):
        """This turn as thread/read reports it (the thread's last turn if the id is not known yet)."""
        answer = self.client.rpc.request("thread/read", {"threadId": self.client.thread_id, "includeTurns": True},
                                         self.client.timeout, self.apply)
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
        option = "--resume-timeout" if self.client.resumed else "--timeout"
        raise TimedOut(f"no message from the server for {timeout:g}s ({option}); the turn is still running")

    def _interrupt_and_wait(self):
        envelope = self.record.envelope
        if self.turn_id is None:
            envelope.fail(Interrupted("interrupted by the user"))
            return
        deadline = time.monotonic() + INTERRUPT_GRACE_SECONDS
        try:
            self.interrupt()
            self.client.tracer.info(f"interrupting turn {self.turn_id}")
            while not self.record.finished:
                self._take_next(max(0.01, deadline - time.monotonic()), ask_on_silence=False)
        except (KeyboardInterrupt, ClientError):
            pass
        envelope.fail(Interrupted("interrupted by the user"))


def user_input(prompt, images):
    return [{"type": "text", "text": prompt}] + [{"type": "localImage", "path": os.path.abspath(p)} for p in images]


def _log_item_started(tracer, item):
    if item.get("type") == "commandExecution":
        tracer.info(f"command: {item.get('command')}")
    elif item.get("type") in ("fileChange", "mcpToolCall", "dynamicToolCall", "webSearch"):
        tracer.info(f"{item['type']} started")
