"""One router per connection: each message app-server sends goes to whoever it belongs to.

A response goes to the request waiting for it (by request id); a turn's notifications
and server requests go to that turn (by turn id), kept from the moment they arrive, so
events that come before turn/start has answered are not lost; the rest goes to whoever
waits next. Whichever thread waits reads the connection for all of them, one at a time;
when the connection ends, every waiter gets its error at once.
"""
import collections
import threading
import time

from agent_bridge.outcome import ParseError, TimedOut
from agent_bridge.shapes import as_dict, optional_text


class Router:
    def __init__(self, inbox, take_callback):
        self.inbox = inbox
        self.take_callback = take_callback   # take_callback(response) -> False if a waiter wants it
        self._changed = threading.Condition()
        self._responses = {}                 # request id -> its response
        self._turns = collections.defaultdict(collections.deque)   # turn id -> its messages
        self._others = collections.deque()   # messages of no turn
        self._reading = False
        self._error = None                   # what ended the connection

    def next(self, timeout, request_id=None, turn_id=None, lines=False):
        """The next ("response", message) to `request_id`, ("message", message) of `turn_id` or of
        no turn, or, with `lines`, ("line", text) typed by the user. TimedOut after `timeout` s."""
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._changed:
            while True:
                found = self._take(request_id, turn_id)
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

    def forget(self, turn_id):
        """Drops what is kept for a turn that has ended."""
        with self._changed:
            self._turns.pop(turn_id, None)

    def _take(self, request_id, turn_id):
        if request_id in self._responses:
            return "response", self._responses.pop(request_id)
        if self._turns.get(turn_id):
            return "message", self._turns[turn_id].popleft()
        if self._others:
            return "message", self._others.popleft()
        return None

    def _read(self, remaining, lines):
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
        # The messages that came with it are routed too, as long as each waiter can still take its
        # own in arrival order: up to a message of no turn (any waiter takes those, before its
        # own that came later), or a message that could not be read (raised by the next read).
        while self._route(value):
            value = self.inbox.next_waiting_message()
            if value is None:
                break
            if isinstance(value, ParseError):
                self.inbox.push_back("message", value)
                break
        return None

    def _route(self, message):
        """Keeps a message for whoever it belongs to; False if it belongs to no one in particular."""
        if "method" not in message and "id" in message:
            key = message["id"] if isinstance(message["id"], (int, str)) else None
            if not self.take_callback(message):
                self._responses[key] = message
            return True
        params = as_dict(message.get("params"))
        turn_id = optional_text(params.get("turnId")) or optional_text(as_dict(params.get("turn")).get("id"))
        if turn_id:
            self._turns[turn_id].append(message)
            return True
        self._others.append(message)
        return False
