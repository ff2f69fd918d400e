"""A running turn: its messages, its envelope, steering and interrupting it."""
from __future__ import annotations

import os
from typing import Any, Dict, List, Optional, Sequence

from agent_bridge.deadline import Deadline
from agent_bridge.outcome import ClientError, Envelope, TimedOut
from agent_bridge.shapes import as_dict, as_list, as_text, optional_text
from agent_bridge.turn_base import Turn
from .router import Decided, Message, RequestFailed, TurnEvent
from .rpc import RpcConnection, RpcError
from .turn_record import TurnRecord

# Notifications worth handing to the caller in the envelope, with the field that says what happened.
NOTABLE = {"error": "error", "warning": "message", "configWarning": "summary",
           "deprecationNotice": "summary"}


class TurnOptions:
    """What goes with one prompt."""

    def __init__(self, images: Sequence[str] = (), output_schema: Any = None, effort: Optional[str] = None,
                 on_text: Any = None, steer_from_input: bool = False, keep_deltas: bool = True,
                 on_message: Any = None, deadline: Optional[Deadline] = None,
                 wait_through_silence: bool = False) -> None:
        self.images = images                      # local image paths
        self.output_schema = output_schema        # the answer must be JSON following this schema
        self.effort = effort                      # reasoning effort: one the thread's model offers
        self.on_text = on_text                    # called with each piece of streamed text
        self.steer_from_input = steer_from_input  # typed lines steer the turn (needs inbox.read_lines_from)
        # Off: streamed text is shown through on_text and not kept; the envelope gets the final text
        # from turn/completed (turn/completed carries the whole answer either way).
        self.keep_deltas = keep_deltas
        self.on_message = on_message              # called with each message the turn reads, before it is handled
        # The limit of turn/start and of the turn: then it is stopped, its status timeout (see Turn.result).
        self.deadline = deadline
        # A silence of any length does not end the turn (a detached job's supervisor marks it stalled instead).
        self.wait_through_silence = wait_through_silence


class TurnHandle(Turn):
    """A running turn of one thread: iterate its messages, steer it, interrupt it, or wait for its envelope."""

    def __init__(self, rpc: RpcConnection, tracer: Any, record: TurnRecord, options: TurnOptions,
                 timeout: Optional[float], timeout_setting: str = "timeout", leave_running: bool = False) -> None:
        """`timeout`: the longest silence waited through (None: no limit), named `timeout_setting` in its
        error; `leave_running`: a turn started by someone else, which its deadline only stops waiting for."""
        self.rpc = rpc
        self.tracer = tracer
        self.record = record
        self.options = options
        self.timeout = None if options.wait_through_silence else timeout
        self.timeout_setting = timeout_setting
        self.deadline = options.deadline
        self.leave_running = leave_running
        self.reading_lines = options.steer_from_input
        self.on_message = options.on_message

    @property
    def envelope(self) -> Envelope:
        return self.record.envelope

    @property
    def thread_id(self) -> Optional[str]:
        return self.record.envelope.ids["thread_id"]

    @property
    def turn_id(self) -> Optional[str]:
        return self.record.turn_id

    @property
    def message_timeout(self) -> Optional[float]:
        return self.timeout

    def result(self, max_time: Optional[float] = None) -> Envelope:
        """As Turn.result; without `max_time`, the deadline of its TurnOptions applies. A turn someone
        else started (`wait_for_turn`) is not stopped at the limit: only the wait is."""
        if max_time is not None or self.deadline is None:
            return super().result(max_time)
        deadline = self.deadline
        if self.leave_running:
            return self._wait_until(deadline, lambda: self.abandon(TimedOut(
                f"stopped waiting after max_time {deadline.seconds:g}s; the turn is still running",
                setting="max_time")))
        return self.result_by(deadline)

    def detach(self) -> Envelope:
        """The envelope of a turn left running: it says inProgress. The handle can still wait for the end."""
        return self.record.in_progress()

    def interrupt(self) -> None:
        """Asks the server to interrupt the turn; a refusal (e.g. the turn has ended) is in the envelope's
        notifications."""
        self.tracer.info(f"interrupting turn {self.turn_id}")
        try:
            self.rpc.request("turn/interrupt", {"threadId": self.thread_id, "turnId": self.turn_id}, self.timeout)
        except RpcError as error:
            self._refused("turn/interrupt", error)

    def steer(self, text: str) -> None:
        """Adds `text` to the running turn; a refusal comes later, in the envelope's notifications."""
        self.tracer.info(f"steering turn {self.turn_id}: {text}")
        self.rpc.send_request("turn/steer", {"threadId": self.thread_id, "expectedTurnId": self.turn_id,
                                             "input": user_input(text, ())}, self.turn_id)

    def _refused(self, method: str, error: ClientError) -> None:
        self.tracer.warn(str(error))
        self.record.notify(method, str(error))

    def _close(self) -> Envelope:
        if self.finished:
            self.rpc.router.forget(self.turn_id)
        return self.record.close()

    def apply(self, event: TurnEvent) -> None:
        """Updates the envelope with one event of the turn."""
        record = self.record
        if isinstance(event, Decided):
            record.decided(as_text(event.message.get("method")), event.approvals, event.questions)
            return
        if isinstance(event, RequestFailed):
            self._refused(event.method, event.error)
            return
        params = as_dict(event.get("params"))
        method = event.get("method")
        if method == "item/agentMessage/delta":
            self._show(record.add_delta(optional_text(params.get("itemId")), as_text(params.get("delta"))))
        elif method == "item/started":
            _log_item_started(self.tracer, as_dict(params.get("item")))
        elif method == "item/completed":
            self._item_completed(as_dict(params.get("item")))
        elif method == "turn/diff/updated":
            record.set_diff(optional_text(params.get("diff")))
        elif method == "thread/tokenUsage/updated":
            record.add_usage(params.get("tokenUsage"), optional_text(params.get("turnId")))
        elif method == "turn/completed":
            turn = as_dict(params.get("turn"))
            if record.turn_id in (None, turn.get("id")):
                record.finish(turn)
                self.tracer.info(f"turn {turn.get('id')} {record.envelope.status}")
        else:
            detail = notable(event, self.tracer)
            if detail is not None:
                record.notify(as_text(method), detail)

    def _item_completed(self, item: Message) -> None:
        self.record.add_item(item)
        if item.get("type") == "agentMessage":
            missing = self.record.missing_text(item)
            if missing:
                self._show(self.record.add_delta(optional_text(item.get("id")), missing))
            self.record.settle_message(item)
        elif item.get("type") == "commandExecution":
            self.tracer.info(f"command {item.get('status')}: exit code {item.get('exitCode')}")

    def _show(self, text: str) -> None:
        if self.options.on_text and text:
            self.options.on_text(text)

    def _take_next(self, timeout: Optional[float] = None, ask_on_silence: bool = True) -> Optional[Message]:
        """Reads the next event and applies it; returns its message (None if a typed line was used instead)."""
        event = self._next_event(self.timeout if timeout is None else timeout, ask_on_silence)
        if event is None:
            return None
        message = event.message if isinstance(event, Decided) else event if isinstance(event, dict) else None
        if message is not None and self.on_message is not None:
            self.on_message(message)
        self.apply(event)
        return message

    def _next_event(self, timeout: Optional[float], ask_on_silence: bool = True) -> Optional[TurnEvent]:
        """The next event of the turn, steering with typed lines meanwhile; None if a line was used."""
        try:
            kind, value = self.rpc.router.next_event(self.turn_id, timeout, lines=self.reading_lines)
        except TimedOut:
            if not ask_on_silence:
                raise
            self._after_silence(timeout)
            return None
        if kind == "line":
            if value is None:
                self.rpc.inbox.push_back(kind, value)   # the end of input is for the REPL loop
                self.reading_lines = False
            elif value.strip():
                self.steer(value)
            return None
        return value

    def read_back(self) -> Optional[Message]:
        """This turn as thread/read reports it (the thread's last turn if the id is not known yet)."""
        answer = self.rpc.request("thread/read", {"threadId": self.thread_id, "includeTurns": True}, self.timeout)
        turns = [as_dict(turn) for turn in as_list(as_dict(as_dict(answer).get("thread")).get("turns"))]
        if self.turn_id is None:
            turn = turns[-1] if turns else None
            self.record.started(optional_text(turn.get("id")) if turn else None)
            return turn
        return next((t for t in turns if t.get("id") == self.turn_id), None)

    def _after_silence(self, timeout: Optional[float]) -> None:
        """On a timeout, asks whether the turn in fact ended (a lost notification) before giving up;
        what arrived for the turn meanwhile (e.g. an approval, answered already) goes on."""
        turn = self.read_back()
        if self.record.finished or self.rpc.router.has_events(self.turn_id):
            return
        if turn is not None and turn.get("status") != "inProgress":
            self.tracer.info(f"turn {self.turn_id} had ended; its end was read back with thread/read")
            self.record.finish_from(turn)
            return
        raise TimedOut(f"no message from the server for {timeout:g}s; the turn is still running",
                       setting=self.timeout_setting)


def notable(message: Message, tracer: Any) -> Optional[str]:
    """What a notification worth passing on says (logged), or None."""
    method = message.get("method")
    if method not in NOTABLE:
        return None
    detail = as_dict(message.get("params")).get(NOTABLE[method])
    if isinstance(detail, dict):
        detail = detail.get("message") or str(detail)
    tracer.info(f"{method}: {detail}")
    return str(detail or "")


def user_input(prompt: str, images: Sequence[str]) -> List[Dict[str, str]]:
    return [{"type": "text", "text": prompt}] + [{"type": "localImage", "path": os.path.abspath(p)} for p in images]


def _log_item_started(tracer: Any, item: Message) -> None:
    if item.get("type") == "commandExecution":
        tracer.info(f"command: {item.get('command')}")
    elif item.get("type") in ("fileChange", "mcpToolCall", "dynamicToolCall", "webSearch"):
        tracer.info(f"{item['type']} started")
