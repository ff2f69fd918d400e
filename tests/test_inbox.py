"""The Inbox both clients share (agent_bridge): one queue for peer messages and typed lines."""
import io
import sys
import threading
import weakref

import pytest

from fixtures.peers import wait_until
from tests.helpers import SKILLS

sys.path.insert(0, str(SKILLS / "codex-ws-client" / "scripts"))
from agent_bridge import inbox, outcome  # noqa: E402

COPIES = [(inbox, outcome)]


def _reader(*values):
    """A blocking `receive()` that returns `values` one by one; an exception among them is raised."""
    pending = list(values)

    def receive():
        value = pending.pop(0)
        if isinstance(value, BaseException):
            raise value
        return value
    return receive


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
            return next(values)
        except StopIteration:
            raise EOFError from None
    inbox.read_messages_from(receive)
    go.set()
    wait_until(lambda: inbox._queue.qsize() == 2, what="both messages queued")
    assert [inbox.get(5), inbox.get(5)] == [("message", "m1"), ("message", "m2")]
    assert calls == []                  # something was waiting each time
    with pytest.raises(outcome.TimedOut):
        inbox.get(0.2)
    assert calls == [0]


def test_a_reader_waits_until_the_consumer_is_done_with_what_it_took(copy):
    """After a message of megabytes the reader reads on only once the consumer asks for more with
    nothing left, so two such messages are never held at once."""
    inbox_module, _ = copy
    inbox = inbox_module.Inbox()
    waiting, resumed = threading.Event(), threading.Event()
    values = iter(["long 1", "long 2"])

    def receive():
        value = next(values, None)
        if value == "long 2":
            waiting.set()
            inbox.wait_until_idle()
            resumed.set()
        return value
    inbox.read_messages_from(receive)
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
        return value
    inbox.read_messages_from(receive)
    taken = weakref.ref(inbox.get(5)[1])
    del first
    wait_until(lambda: taken() is None, timeout=5, what="the message to be let go")
    blocked.set()
