"""Everything the main thread waits for, on one deadline: messages from the peer and lines typed
by the user, in arrival order, while Ctrl-C stays effective.

With `read_on_waiting_thread`, the peer's output is read by the thread that waits for it, when
the operating system can wait on it (a socket; a pipe on POSIX): one thread that wakes once per
read of the peer's output costs far less than a reading thread that wakes the main thread for
each message it hands over. Otherwise (a library caller, a pipe on Windows, TLS) a background
thread reads it and hands over what each read held. Typed lines are read on a background thread, which wakes a waiting `get` through a
socket pair.
"""
import collections
import queue
import select
import threading
import time

from .outcome import BadArguments, TimedOut

IDLE_WAIT_LIMIT = 60.0   # seconds a reader waits for the consumer in `wait_until_idle`
# While the peer streams (output came within GATHER_SECONDS of each wait, this many times in a
# row), its output is let gather that long before the next wait: one wake-up then reads many
# small messages, where each would otherwise cost one. The text is 2 ms later at most.
GATHER_SECONDS = 0.002
QUICK_READS_BEFORE_GATHERING = 3


class Inbox:
    """Messages from the peer and lines typed by the user, in arrival order."""

    def __init__(self, read_on_waiting_thread=False, before_wait=None):
        """`read_on_waiting_thread`: read the peer on the thread that waits (see the module's text)
        where that can be done. Only for a caller that waits for everything it starts, as the
        command lines do: a peer whose output nobody reads for a while may give up (app-server
        closes such a connection), so a library caller, who may leave a turn unread while it works
        on something else, keeps a reading thread."""
        self.read_on_waiting_thread = read_on_waiting_thread
        # SimpleQueue: its put and get are single C calls.
        self._queue = queue.SimpleQueue()   # items from background threads
        self._taken = collections.deque()   # (kind, value) read or taken from the queue, not yet handed out
        self._source = None                 # the peer's output when it is read on the waiting thread
        self._source_descriptor = None
        self._wake = None                   # (read end, write end) of the socket pair for typed lines
        self._waiting_on = Readable()       # the file descriptors of both
        self._quick_reads = 0               # reads in a row that found output after a short wait
        self._idle = threading.Event()      # set by `get` for a reader in `wait_until_idle`
        self._idle_wanted = False
        # Called when `get` finds nothing waiting, before it blocks; it returns None, or the seconds
        # after which it wants to be called again if the wait lasts that long.
        self.before_wait = before_wait

    def read_messages_from(self, source):
        """Messages arrive as ("message", value) from `source`, which has `read_available()` (one read
        of the peer's output, blocking until it returns: the messages it completed, maybe none;
        EOFError at an expected end; another error ends the reading and is raised by `get`),
        `fileno()` (what select can wait on before reading, or None: then a thread reads) and
        `has_more()` (True when the next read need not wait for the peer: it has more to give
        from what it has read, such as the error that ended the stream after its last messages)."""
        self._stop_reading_source()
        if not self.read_on_waiting_thread or source.fileno() is None:
            threading.Thread(target=self._pump_messages, args=(source,), daemon=True).start()
        else:
            self._source, self._source_descriptor = source, source.fileno()
            self._waiting_on.add(self._source_descriptor)

    def read_lines_from(self, stream):
        """Typed lines arrive as ("line", text); the end of input as ("line", None)."""
        if self._wake is None:
            import socket   # only typed lines need it; kept off a one-shot call's start-up (about 2.6 ms)
            self._wake = socket.socketpair()
            self._wake[1].setblocking(False)   # a full pair means a wake-up is waiting already
            self._waiting_on.add(self._wake[0].fileno())

        def read_line():
            try:
                line = stream.readline()
                line.encode("utf-8")   # bytes that are not UTF-8 may arrive as lone surrogates
            except (UnicodeDecodeError, UnicodeEncodeError):
                raise BadArguments("a line read from stdin is not UTF-8") from None
            return line.rstrip("\r\n") if line else None
        threading.Thread(target=self._pump_lines, args=(read_line,), daemon=True).start()

    def get(self, timeout, wanted=("message", "line")):
        """The next (kind, value) of a wanted kind; others wait their turn. TimedOut after `timeout` s.

        An error from the peer's side is raised whatever is wanted; an error reading lines, when a
        line is wanted.
        """
        taken = self._taken
        deadline = None   # set when `get` first waits
        while True:
            if taken and taken[0][0] in wanted:   # the usual case: the next message of a read
                return _handed_out(taken.popleft())
            for index, item in enumerate(taken):
                if item[0] in wanted:
                    del taken[index]
                    return _handed_out(item)
            if deadline is None and timeout is not None:
                deadline = time.monotonic() + timeout
            if not self._queue.empty():
                self._take_queued(self._queue.get())
            elif self._source is not None:
                self._read_source(deadline, timeout)
            else:
                again_after = self._caught_up()
                try:
                    self._take_queued(self._queue.get(timeout=_shorter(_remaining(deadline), again_after)))
                except queue.Empty:
                    if again_after is None or _passed(deadline):
                        raise TimedOut(f"nothing arrived for {timeout:g}s") from None

    def next_waiting_message(self):
        """The next message if it is already here (the rest of a read), else None; never blocks."""
        taken = self._taken
        if taken and taken[0][0] == "message":
            return taken.popleft()[1]
        return None

    def wait_until_idle(self):
        """For a reading thread: returns once the consumer has asked for more with nothing left to
        take, that is, it is done with what was handed to it. A reader that has handed over a
        message of megabytes waits for this before reading on, so that two are never held at once.
        When the consumer reads for itself it asks only then: nothing to wait for."""
        if self._source is not None:
            return
        self._idle.clear()
        self._idle_wanted = True
        self._queue.put(("nudge", None))   # wakes a consumer that waits already, to see it is wanted
        # Bounded: a consumer that has gone (a closed client) must not keep this thread for ever;
        # once the wait is over, reading the closed connection fails and ends the thread.
        self._idle.wait(IDLE_WAIT_LIMIT)

    def push_back(self, kind, value):
        """Returns an item taken too early: the next `get` that wants its kind gets it first."""
        self._taken.appendleft((kind, value))

    def discard(self, kind):
        """Drops every waiting item of `kind` (e.g. the rest of a process that was replaced)."""
        self._taken = collections.deque(item for item in self._taken if item[0] != kind)
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

    def _read_source(self, deadline, timeout):
        """Reads the peer on this thread, after showing what is held (`before_wait`) and waiting
        until the peer's output, or a typed line, arrives, or the deadline passes."""
        if not self._source.has_more():
            again_after = self._caught_up()
            if self._quick_reads >= QUICK_READS_BEFORE_GATHERING:
                time.sleep(_shorter(_remaining(deadline), GATHER_SECONDS))
            waited_from = time.monotonic()
            ready = self._waiting_on.wait(_shorter(_remaining(deadline), again_after))
            self._quick_reads = self._quick_reads + 1 if time.monotonic() - waited_from < GATHER_SECONDS else 0
            if not ready:
                if again_after is None or _passed(deadline):
                    raise TimedOut(f"nothing arrived for {timeout:g}s")
                return
            if self._source_descriptor not in ready:
                self._wake[0].recv(4096)   # the line is in the queue: the next loop takes it
                return
        try:
            messages = self._source.read_available()
        except EOFError:
            self._stop_reading_source()   # an expected end: typed lines may still come
            return
        self._taken.extend(("message", message) for message in messages)

    def _stop_reading_source(self):
        if self._source is not None:
            self._waiting_on.remove(self._source_descriptor)
            self._source = self._source_descriptor = None

    def _caught_up(self):
        """Runs before a wait: returns None, or the seconds after which it wants to run again."""
        if self._idle_wanted:
            self._idle_wanted = False
            self._idle.set()
        return self.before_wait() if self.before_wait else None

    def _take_queued(self, item):
        kind, value = item
        if kind == "error":
            raise value
        if kind == "message":
            self._taken.extend(("message", message) for message in value)
        elif kind != "nudge":
            self._taken.append(item)

    def _pump_messages(self, source):
        """The reading thread of a source select cannot wait on: what each read completed is handed
        over at once. An EOFError ends it quietly; another error is handed on."""
        while True:
            try:
                messages = source.read_available()
            except EOFError:
                return
            except Exception as error:  # noqa: BLE001 - handed to the main thread, which raises it
                self._queue.put(("error", error))
                return
            if messages:
                self._queue.put(("message", messages))
            messages = None   # not held while the next read waits: it may be megabytes

    def _pump_lines(self, read_line):
        """The typed lines' reading thread; the end of input is a None line."""
        while True:
            try:
                line = read_line()
            except Exception as error:  # noqa: BLE001 - raised by `get` when a line is wanted
                line = error
            self._queue.put(("line", line))
            try:
                self._wake[1].send(b".")
            except BlockingIOError:
                pass
            if not isinstance(line, str):
                return


class Readable:
    """Waits until one of some file descriptors can be read: with poll where there is poll (its
    descriptors given once, not on every wait), else with select (Windows, sockets only)."""

    def __init__(self):
        self.poll = select.poll() if hasattr(select, "poll") else None
        self.descriptors = []

    def add(self, descriptor):
        self.descriptors.append(descriptor)
        if self.poll:
            self.poll.register(descriptor, select.POLLIN)

    def remove(self, descriptor):
        self.descriptors.remove(descriptor)
        if self.poll:
            self.poll.unregister(descriptor)

    def wait(self, timeout):
        """The descriptors that can be read (none once `timeout` seconds have passed; None: no limit)."""
        if self.poll is None:
            return select.select(self.descriptors, [], [], timeout)[0]
        return [descriptor for descriptor, _ in self.poll.poll(None if timeout is None else timeout * 1000)]


def _remaining(deadline):
    return None if deadline is None else max(0.0, deadline - time.monotonic())


def _shorter(seconds, other):
    """The shorter of two waits, None meaning no limit."""
    return other if seconds is None else seconds if other is None else min(seconds, other)


def _passed(deadline):
    return deadline is not None and time.monotonic() >= deadline


def _handed_out(item):
    """A taken item as `get` returns it; an error reading a typed line is raised. (A message may be
    an error of its own too, e.g. a ParseError: the reader of messages decides what it means.)"""
    if item[0] == "line" and isinstance(item[1], Exception):
        raise item[1]
    return item
