"""The Inbox both clients share (agent_bridge): one queue for peer messages and typed lines."""
import io
import socket
import sys
import threading
import time
import weakref

import pytest

from fixtures.peers import wait_until
from tests.helpers import SKILLS

sys.path.insert(0, str(SKILLS / "codex-ws-client" / "scripts"))
from agent_bridge import inbox, outcome  # noqa: E402
from agent_bridge.cli import render  # noqa: E402

COPIES = [(inbox, outcome)]


class ThreadSource:
    """A source select cannot wait on (as a pipe on Windows): `read()` gives each read's messages."""

    def __init__(self, read):
        self.read_available = read

    def fileno(self):
        return None


def _reader(*values):
    """A source whose reads return `values` one by one, each alone; an exception among them is raised."""
    pending = list(values)

    def read():
        value = pending.pop(0)
        if isinstance(value, BaseException):
            raise value
        return [value]
    return ThreadSource(read)


@pytest.fixture(params=COPIES, ids=["agent_bridge"])
def copy(request):
    return request.param


def test_items_of_unwanted_kinds_wait_their_turn(copy):
    inbox_module, _ = copy
    inbox = inbox_module.Inbox()
    inbox.read_messages_from(_reader("m1", "m2", EOFError()))
    inbox.read_lines_from(io.StringIO("typed\r\n"))
    assert inbox.get(5, ("line",)) == ("line", "typed")
    assert inbox.get(5, ("line",)) == ("line", None)          # the end of input
    assert [inbox.get(5, ("message",)) for _ in range(2)] == [("message", "m1"), ("message", "m2")]


def test_a_reader_that_ends_with_eof_ends_quietly(copy):
    inbox_module, outcome = copy
    inbox = inbox_module.Inbox()
    inbox.read_messages_from(_reader("only", EOFError()))
    assert inbox.get(5) == ("message", "only")
    with pytest.raises(outcome.TimedOut, match="nothing arrived for 0.2s"):
        inbox.get(0.2)


def test_a_reader_error_is_raised_whatever_is_wanted(copy):
    inbox_module, outcome = copy
    inbox = inbox_module.Inbox()
    inbox.read_messages_from(_reader(outcome.ConnectionFailed("the peer went away")))
    with pytest.raises(outcome.ConnectionFailed, match="the peer went away"):
        inbox.get(5, ("line",))


def test_push_back_is_taken_first(copy):
    inbox_module, _ = copy
    inbox = inbox_module.Inbox()
    inbox.read_lines_from(io.StringIO("second\n"))
    inbox.push_back("line", "first")
    assert inbox.get(5, ("line",)) == ("line", "first")
    assert inbox.get(5, ("line",)) == ("line", "second")


def test_discard_drops_one_kind_and_keeps_the_others(copy):
    inbox_module, _ = copy
    inbox = inbox_module.Inbox()
    inbox.read_messages_from(_reader("old 1", "old 2", EOFError()))
    assert inbox.get(5, ("message",)) == ("message", "old 1")   # "old 2" is queued or on its way
    inbox.read_lines_from(io.StringIO("kept\n"))
    assert inbox.get(5, ("line",)) == ("line", "kept")           # waits for the line; "old 2" is deferred
    inbox.push_back("line", "also kept")
    inbox.discard("message")
    assert inbox.get(5) == ("line", "also kept")
    assert inbox.get(5) == ("line", None)
    with pytest.raises(Exception, match="nothing arrived"):
        inbox.get(0.2)


def test_nothing_waiting_runs_before_wait_once_and_only_then(copy):
    """A stream of deltas is flushed to stdout when the consumer has caught up, not after each delta."""
    inbox_module, outcome = copy
    inbox = inbox_module.Inbox()
    calls = []
    inbox.before_wait = lambda: calls.append(inbox._queue.qsize())
    go = threading.Event()
    values = iter(["m1", "m2"])

    def receive():
        go.wait(5)
        try:
            return [next(values)]
        except StopIteration:
            raise EOFError from None
    inbox.read_messages_from(ThreadSource(receive))
    go.set()
    wait_until(lambda: inbox._queue.qsize() == 2, what="both messages queued")
    assert [inbox.get(5), inbox.get(5)] == [("message", "m1"), ("message", "m2")]
    assert calls == []                  # something was waiting each time
    with pytest.raises(outcome.TimedOut):
        inbox.get(0.2)
    assert calls == [0]


def test_a_batch_is_handed_out_a_message_at_a_time_and_in_order_before_anything_later(copy):
    """What one read held crosses between threads at once; nothing counts as caught up (no flush
    of streamed text) until the batch is used up, and a line typed after it comes after it."""
    inbox_module, outcome = copy
    inbox = inbox_module.Inbox()
    calls = []
    inbox.before_wait = lambda: calls.append("flush")
    batches = iter([["m1", "m2", "m3"]])
    inbox.read_messages_from(ThreadSource(lambda: next(batches, None) or _raise(EOFError())))
    wait_until(lambda: inbox._queue.qsize() == 1, what="the batch queued")
    assert inbox.get(5) == ("message", "m1")
    inbox.read_lines_from(io.StringIO("typed\n"))
    wait_until(lambda: inbox._queue.qsize() == 2, what="the typed line and its end queued")
    assert [inbox.get(5) for _ in range(4)] == [("message", "m2"), ("message", "m3"), ("line", "typed"),
                                                 ("line", None)]
    assert calls == []                  # something was waiting each time
    with pytest.raises(outcome.TimedOut):
        inbox.get(0.2)
    assert calls == ["flush"]


def _raise(error):
    raise error


def test_a_reader_waits_until_the_consumer_is_done_with_what_it_took(copy):
    """After a message of megabytes the reader reads on only once the consumer asks for more with
    nothing left, so two such messages are never held at once."""
    inbox_module, _ = copy
    inbox = inbox_module.Inbox()
    waiting, resumed = threading.Event(), threading.Event()
    values = iter(["long 1", "long 2"])

    def receive():
        value = next(values, None)
        if value is None:
            raise EOFError
        if value == "long 2":
            waiting.set()
            inbox.wait_until_idle()
            resumed.set()
        return [value]
    inbox.read_messages_from(ThreadSource(receive))
    assert inbox.get(5) == ("message", "long 1")
    assert waiting.wait(5)
    assert not resumed.is_set()         # the consumer has not asked for more yet
    assert inbox.get(5) == ("message", "long 2")
    assert resumed.is_set()


def test_the_reading_thread_lets_go_of_a_message_once_handed_over(copy):
    """The reader does not keep the last message while it waits for the next one."""
    inbox_module, _ = copy
    inbox = inbox_module.Inbox()

    class Message:
        pass
    first, blocked = Message(), threading.Event()
    values = iter([first])

    def receive():
        value = next(values, None)
        if value is None:
            blocked.wait(30)   # the next message never comes while the test runs
            raise EOFError
        return [value]
    inbox.read_messages_from(ThreadSource(receive))
    taken = weakref.ref(inbox.get(5)[1])
    del first
    wait_until(lambda: taken() is None, timeout=5, what="the message to be let go")
    blocked.set()


class SocketSource:
    """A source select can wait on, as a socket or a POSIX pipe: each line sent is a message."""

    def __init__(self):
        self.mine, self.peer = socket.socketpair()
        self.reads_on = set()    # names of the threads that read it

    def fileno(self):
        return self.mine.fileno()

    def has_more(self):
        return False

    def read_available(self):
        self.reads_on.add(threading.current_thread().name)
        data = self.mine.recv(65536)
        if not data:
            raise EOFError
        return data.decode().split()


def test_a_source_select_can_wait_on_is_read_by_the_waiting_thread_once_per_read(copy):
    """No reading thread, so no hand-over between threads for each message: the waiting thread
    reads, and all that one read held comes out before anything is read again."""
    inbox_module, _ = copy
    inbox, source = inbox_module.Inbox(read_on_waiting_thread=True), SocketSource()
    threads_before = threading.active_count()
    inbox.read_messages_from(source)
    source.peer.sendall(b"m1 m2 m3")
    assert [inbox.get(5) for _ in range(3)] == [("message", "m1"), ("message", "m2"), ("message", "m3")]
    assert source.reads_on == {threading.current_thread().name}
    assert threading.active_count() == threads_before


def test_before_wait_runs_before_each_wait_on_the_source_not_for_each_message(copy):
    inbox_module, outcome = copy
    inbox, source = inbox_module.Inbox(read_on_waiting_thread=True), SocketSource()
    calls = []
    inbox.before_wait = lambda: calls.append("flush")
    inbox.read_messages_from(source)
    source.peer.sendall(b"m1 m2")
    assert [inbox.get(5), inbox.get(5)] == [("message", "m1"), ("message", "m2")]
    assert calls == ["flush"]
    with pytest.raises(outcome.TimedOut, match="nothing arrived for 0.2s"):
        inbox.get(0.2)
    assert calls == ["flush", "flush"]


def test_a_typed_line_wakes_a_wait_on_the_source(copy):
    inbox_module, _ = copy
    inbox, source = inbox_module.Inbox(read_on_waiting_thread=True), SocketSource()
    inbox.read_messages_from(source)
    typed_read, typed_write = socket.socketpair()
    with typed_read.makefile("r") as typed:
        inbox.read_lines_from(typed)
        timer = threading.Timer(0.3, lambda: typed_write.sendall(b"hello\n"))
        timer.start()
        assert inbox.get(10) == ("line", "hello")   # not after the 10 s: the line woke the wait
        source.peer.sendall(b"later")
        assert inbox.get(5, ("message",)) == ("message", "later")
        typed_write.close()
        assert inbox.get(5, ("line",)) == ("line", None)


def test_the_end_of_a_source_read_directly_is_quiet_and_lines_still_come(copy):
    inbox_module, outcome = copy
    inbox, source = inbox_module.Inbox(read_on_waiting_thread=True), SocketSource()
    inbox.read_messages_from(source)
    source.peer.sendall(b"last")
    source.peer.close()
    assert inbox.get(5) == ("message", "last")
    with pytest.raises(outcome.TimedOut):
        inbox.get(0.2)
    inbox.read_lines_from(io.StringIO("typed\n"))
    assert inbox.get(5) == ("line", "typed")


def test_an_error_reading_the_source_directly_is_raised_whatever_is_wanted(copy):
    inbox_module, outcome = copy
    inbox, source = inbox_module.Inbox(read_on_waiting_thread=True), SocketSource()

    def broken():
        raise outcome.ConnectionFailed("the peer went away")
    source.read_available = broken
    inbox.read_messages_from(source)
    source.peer.sendall(b"x")
    with pytest.raises(outcome.ConnectionFailed, match="the peer went away"):
        inbox.get(5, ("line",))


@pytest.mark.parametrize("source_kind", ["read directly", "read on a thread"])
def test_before_wait_runs_again_when_it_asks_to_during_a_long_wait(copy, source_kind):
    """The renderer holds text written a moment ago and asks to be called again: a wait with
    nothing arriving calls it again then, and still ends at its own deadline."""
    inbox_module, outcome = copy
    inbox = inbox_module.Inbox(read_on_waiting_thread=True)
    inbox.read_messages_from(SocketSource() if source_kind == "read directly" else _reader(EOFError()))
    calls = []

    def before_wait():
        calls.append(time.monotonic())
        return 0.1 if len(calls) == 1 else None
    inbox.before_wait = before_wait
    started = time.monotonic()
    with pytest.raises(outcome.TimedOut, match="nothing arrived for 0.6s"):
        inbox.get(0.6)
    assert len(calls) == 2 and 0.09 <= calls[1] - calls[0] < 0.5
    assert time.monotonic() - started >= 0.6


def test_streamed_text_is_written_at_most_once_per_interval_and_none_is_held_longer():
    out = io.StringIO()
    renderer = render.Renderer("test", render.STREAM, stdout=out)
    renderer.delta("one ")
    assert renderer.flush_soon() is None and out.getvalue() == "one "   # nothing written lately
    renderer.delta("two ")
    again_after = renderer.flush_soon()
    assert 0 < again_after <= render.FLUSH_INTERVAL and out.getvalue() == "one "
    wait_until(lambda: renderer.flush_soon() is None, timeout=1, what="the held text to be written")
    assert out.getvalue() == "one two "
    renderer.delta("three")
    renderer.flush()                   # before a question or a progress line: at once
    assert out.getvalue() == "one two three"


def test_a_stream_of_small_messages_is_read_in_batches_not_one_read_each(copy):
    """While the peer streams, its output gathers a moment between reads: many messages a read
    (one wake-up each read), where reading as soon as anything arrives gets one or two."""
    inbox_module, _ = copy
    inbox, source = inbox_module.Inbox(read_on_waiting_thread=True), SocketSource()
    reads = []
    read = source.read_available
    source.read_available = lambda: reads.append(1) or read()
    inbox.read_messages_from(source)

    def stream():
        for number in range(300):
            source.peer.sendall(f"m{number} ".encode())
            time.sleep(0.0002)
    threading.Thread(target=stream, daemon=True).start()
    assert [inbox.get(10)[1] for _ in range(300)] == [f"m{number}" for number in range(300)]
    assert len(reads) <= 100, f"{len(reads)} reads for 300 messages"


def test_by_default_a_reading_thread_reads_even_a_source_select_can_wait_on(copy):
    """A library caller may leave a turn unread while it works on something else: the peer's
    output is read meanwhile (app-server closes a connection whose messages are not read)."""
    inbox_module, _ = copy
    inbox, source = inbox_module.Inbox(), SocketSource()
    inbox.read_messages_from(source)
    source.peer.sendall(b"m1")
    wait_until(lambda: source.reads_on, what="a read without anyone waiting")
    assert threading.current_thread().name not in source.reads_on
    assert inbox.get(5) == ("message", "m1")
