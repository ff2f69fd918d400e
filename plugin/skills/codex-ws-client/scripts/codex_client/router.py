"""One router per connection: each message app-server sends goes to whoever it belongs to.

A response goes to the request that waits for it (by request id); an error answer to a request
nobody waits for (turn/steer) goes to the turn that sent it, as an event. A server request is
answered at once, in one place: the connection's `answer` (the client's approval policy); what
was decided goes to the turn the request names, as an event. A notification goes to the turn it
names (kept from the moment it arrives, so events that come before turn/start has answered are
not lost); one that names only a thread goes to that thread's turn being followed, else to
`note` (messages of no turn); a server request of no turn is answered all the same.
Whichever thread waits reads the connection for all of them, one at a time; when the
connection ends, every waiter gets its error at once.
"""
from __future__ import annotations

import collections
import json
import threading
import time
from typing import Any, Callable, Deque, Dict, Optional, Set, Tuple, Union

from agent_bridge.inbox import Inbox
from agent_bridge.outcome import ClientError, ParseError, TimedOut
from agent_bridge.shapes import as_dict, optional_text

Message = Dict[str, Any]


class Decided:
    """A server request of a turn, answered: the message, and the approvals and questions it recorded."""

    def __init__(self, message: Message, approvals: Optional[list] = None, questions: Optional[list] = None) -> None:
        self.message = message
        self.approvals = approvals or []
        self.questions = questions or []


class RequestFailed:
    """The error answer to a request a turn sent without waiting for it (e.g. turn/steer)."""

    def __init__(self, method: str, error: ClientError) -> None:
        self.method = method
        self.error = error


TurnEvent = Union[Message, Decided, RequestFailed]


class Pending:
    """A request sent, until its answer arrives."""

    def __init__(self, method: str, turn_id: Optional[str], waited: bool) -> None:
        self.method = method
        self.turn_id = turn_id      # the turn told of an error answer, for a request not waited for
        self.waited = waited
        self.response: Optional[Message] = None


class Router:
    def __init__(self, inbox: Inbox, answer: Callable[[Message, Optional[Message]], Decided],
                 note: Callable[[Message], None], error_of: Callable[[str, Any], ClientError],
                 tracer: Any) -> None:
        """`answer(request, item)` answers a server request (item: the turn item it is about) and returns
        what it decided; `note(message)` takes a message of no turn; `error_of(method, error)` is the
        exception for an error answer."""
        self.inbox = inbox
        self.answer = answer
        self.note = note
        self.error_of = error_of
        self.tracer = tracer
        self._changed = threading.Condition()
        self._pending: Dict[Any, Pending] = {}                       # request id -> the request
        self._turns: Dict[str, Deque[TurnEvent]] = collections.defaultdict(collections.deque)
        self._followed: Dict[str, str] = {}                          # thread id -> its turn being followed
        self._items: Dict[Optional[str], Message] = {}               # item id -> the item item/started announced
        self._answered: Set[str] = set()                             # ids of server requests answered, as JSON
        self._reading = False
        self._error: Optional[BaseException] = None                  # what ended the connection

    def expect(self, request_id: Any, method: str, waited: bool = True, turn_id: Optional[str] = None) -> None:
        """Registers a request before it is sent, so that its answer is kept for it."""
        with self._changed:
            self._pending[request_id] = Pending(method, turn_id, waited)

    def response(self, request_id: Any, timeout: Optional[float]) -> Message:
        """The answer to a request registered with `expect`. TimedOut after `timeout` s."""
        try:
            found = self._wait(lambda: self._response_of(request_id), timeout)
        finally:
            with self._changed:
                self._pending.pop(request_id, None)
        return found[1]

    def next_event(self, turn_id: Optional[str], timeout: Optional[float],
                   lines: bool = False) -> Tuple[str, Any]:
        """("event", the next event of `turn_id`) or, with `lines`, ("line", text) typed by the user."""
        return self._wait(lambda: self._event_of(turn_id), timeout, lines)

    def next_line(self) -> Optional[str]:
        """The next line typed (None at the end of input); the connection's messages are routed meanwhile."""
        return self._wait(lambda: None, None, lines=True)[1]

    def has_events(self, turn_id: Optional[str]) -> bool:
        with self._changed:
            return bool(self._turns.get(turn_id or ""))

    def follow(self, thread_id: str, turn_id: str) -> None:
        """Messages that name only `thread_id` go to `turn_id` from now on."""
        with self._changed:
            self._followed[thread_id] = turn_id

    def forget(self, turn_id: Optional[str]) -> None:
        """Drops what is kept for a turn that has ended."""
        with self._changed:
            self._turns.pop(turn_id or "", None)
            for thread_id in [thread for thread, turn in self._followed.items() if turn == turn_id]:
                del self._followed[thread_id]

    def _response_of(self, request_id: Any) -> Optional[Tuple[str, Any]]:
        pending = self._pending.get(request_id)
        if pending is not None and pending.response is not None:
            return "response", pending.response
        return None

    def _event_of(self, turn_id: Optional[str]) -> Optional[Tuple[str, Any]]:
        events = self._turns.get(turn_id or "")
        return ("event", events.popleft()) if events else None

    def _wait(self, find: Callable[[], Optional[Tuple[str, Any]]], timeout: Optional[float],
              lines: bool = False) -> Tuple[str, Any]:
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._changed:
            while True:
                found = find()
                if found:
                    return found
                if self._error is not None:
                    raise self._error
                remaining = None if deadline is None else deadline - time.monotonic()
                if remaining is not None and remaining <= 0:
                    raise TimedOut(f"no message from the server for {timeout:g}s")
                if self._reading:
                    self._changed.wait(remaining)
                    continue
                line = self._read(remaining, lines)
                if line is not None:
                    return line

    def _read(self, remaining: Optional[float], lines: bool) -> Optional[Tuple[str, Any]]:
        """Reads for every waiter, the lock let go meanwhile: the next item, and the messages that
        arrived with it; returns the item if it is a typed line."""
        self._reading = True
        self._changed.release()
        try:
            kind, value = self.inbox.get(remaining, ("message", "line") if lines else ("message",))
        except TimedOut:
            return None   # the caller's loop says whose time is up
        except Exception as error:   # noqa: BLE001 - the connection is over: every waiter is told
            self._error = error
            raise
        finally:
            self._changed.acquire()
            self._reading = False
            self._changed.notify_all()
        if kind == "line":
            return kind, value
        if isinstance(value, ParseError):
            raise value   # one message that could not be read: the connection goes on
        while True:
            self._route(value)
            value = self.inbox.next_waiting_message()   # the rest of the same read
            if value is None:
                return None
            if isinstance(value, ParseError):   # raised by the next read, after what came before it
                self.inbox.push_back("message", value)
                return None

    def _route(self, message: Message) -> None:
        if "method" not in message and "id" in message:
            self._route_response(message)
            return
        params = as_dict(message.get("params"))
        # A legacy approval request names its thread `conversationId`.
        thread_id = optional_text(params.get("threadId")) or optional_text(params.get("conversationId"))
        turn_id = (optional_text(params.get("turnId")) or optional_text(as_dict(params.get("turn")).get("id"))
                   or self._followed.get(thread_id or ""))
        if "id" in message:
            self._answer_once(message, params, turn_id)
            return
        self._index_item(message.get("method"), params)
        if turn_id:
            self._turns[turn_id].append(message)
        else:
            self.note(message)

    def _route_response(self, message: Message) -> None:
        key = message["id"] if isinstance(message["id"], (int, str)) else None
        pending = self._pending.get(key)
        if pending is None:
            self.tracer.info(f"ignored a response to unknown request id {message['id']!r}")
        elif pending.waited:
            pending.response = message
        else:
            del self._pending[key]
            if "error" in message and pending.turn_id:
                self._turns[pending.turn_id].append(RequestFailed(pending.method,
                                                                  self.error_of(pending.method, message["error"])))

    def _answer_once(self, request: Message, params: Message, turn_id: Optional[str]) -> None:
        """Answers a server request (a repeated id is answered once) and tells its turn what was decided."""
        key = json.dumps(request["id"])
        if key in self._answered:
            self.tracer.info(f"ignored a repeated server request id {request['id']!r}")
            return
        self._answered.add(key)
        decided = self.answer(request, self._items.get(optional_text(params.get("itemId"))))
        if turn_id:
            self._turns[turn_id].append(decided)

    def _index_item(self, method: Any, params: Message) -> None:
        """Keeps the items in progress: a server request about one is described by it."""
        if method == "item/started":
            item = as_dict(params.get("item"))
            self._items[optional_text(item.get("id"))] = item
        elif method == "item/completed":
            self._items.pop(optional_text(as_dict(params.get("item")).get("id")), None)
