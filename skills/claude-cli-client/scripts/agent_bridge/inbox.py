"""One queue for everything the main thread waits for: messages from the peer and lines typed
by the user, read on background threads, so the main thread waits on a single deadline and
stays responsive to Ctrl-C."""
import queue
import threading

from .outcome import BadArguments, TimedOut

IDLE_WAIT_LIMIT = 60.0   # seconds a reader waits for the consumer in `wait_until_idle`


class Inbox:
    """Messages from the server and lines typed by the user, in arrival order."""

    def __init__(self):
        # SimpleQueue: its put and get are single C calls, which matters at one item per streamed delta.
        self._queue = queue.SimpleQueue()
        self._deferred = []
        self._idle = threading.Event()    # set by `get` for a reader in `wait_until_idle`
        self._idle_wanted = False
        self.before_wait = None   # called when `get` finds nothing waiting, before it blocks

    def read_messages_from(self, receive):
        """Messages arrive as ("message", value), from a blocking `receive()`; its error is raised by `get`."""
        threading.Thread(target=self._pump, args=(receive, "message"), daemon=True).start()

    def read_lines_from(self, stream):
        """Typed lines arrive as ("line", text); the end of input as ("line", None)."""
        def read_line():
            try:
                line = stream.readline()
                line.encode("utf-8")   # bytes that are not UTF-8 may arrive as lone surrogates
            except (UnicodeDecodeError, UnicodeEncodeError):
                raise BadArguments("a line read from stdin is not UTF-8") from None
            return line.rstrip("\r\n") if line else None
        threading.Thread(target=self._pump, args=(read_line, "line"), daemon=True).start()

    def get(self, timeout, wanted=("message", "line")):
        """The next (kind, value) of a wanted kind; others wait their turn. TimedOut after `timeout` s.

        An error from the server side is raised whatever is wanted; an error reading lines, when a
        line is wanted.
        """
        for index, (kind, value) in enumerate(self._deferred):
            if kind in wanted:
                del self._deferred[index]
                return kind, _raise_if_error(value)
        while True:
            if self._queue.empty():
                if self.before_wait:
                    self.before_wait()
                if self._idle_wanted:
                    self._idle_wanted = False
                    self._idle.set()
            try:
                kind, value = self._queue.get(timeout=timeout)
            except queue.Empty:
                raise TimedOut(f"nothing arrived for {timeout:g}s") from None
            if kind == "nudge":
                continue
            if kind == "error":
                raise value
            if kind in wanted:
                return kind, _raise_if_error(value)
            self._deferred.append((kind, value))

    def wait_until_idle(self):
        """For a reading thread: returns once the consumer has asked for more with nothing left to
        take, that is, it is done with what was handed to it. A reader that has handed over a
        message of megabytes waits for this before reading on, so that two are never held at once."""
        self._idle.clear()
        self._idle_wanted = True
        self._queue.put(("nudge", None))   # wakes a consumer that waits already, to see it is wanted
        # Bounded: a consumer that has gone (a closed client) must not keep this thread for ever;
        # once the wait is over, reading the closed connection fails and ends the thread.
        self._idle.wait(IDLE_WAIT_LIMIT)

    def push_back(self, kind, value):
        """Returns an item taken too early: the next `get` that wants its kind gets it first."""
        self._deferred.insert(0, (kind, value))

    def discard(self, kind):
        """Drops every waiting item of `kind` (e.g. the rest of a process that was replaced)."""
        self._deferred = [item for item in self._deferred if item[0] != kind]
        kept = []
        while True:
            try:
                item = self._queue.get_nowait()
            except queue.Empty:
                break
            if item[0] != kind:
                kept.append(item)
        for item in kept:
            self._queue.put(item)

    def _pump(self, read, kind):
        """Feeds the queue until `read` ends: EOFError ends it quietly, another error is handed on."""
        while True:
            try:
                value = read()
            except EOFError:
                return
            except Exception as error:  # noqa: BLE001 - handed to the main thread, which raises it
                self._queue.put(("error", error) if kind == "message" else (kind, error))
                return
            self._queue.put((kind, value))
            if value is None:
                return
            value = None   # not held while the next one is read: it may be megabytes


def _raise_if_error(value):
    if isinstance(value, Exception):
        raise value
    return value
