"""The base of the turn both clients hand out: its events, its envelope, interrupting or stopping it.

Shared by codex-ws-client and claude-cli-client: the canonical copy lives in
codex-ws-client, and a test proves the claude copy is identical. A client's turn
supplies `envelope`, `interrupt()`, `on_message` (None, or called with each message it
reads, before applying it), `message_timeout` (the longest silence of the peer it waits
through, None: no limit), `_take_next(timeout=None, ask_on_silence=True)`, which
reads the next message from the peer, applies it and returns it (None when nothing the
caller needs to see arrived), and `_close()`, which returns the envelope once the wait is over.
"""
from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any, Callable, Dict, Iterator, Optional

from .deadline import Deadline
from .outcome import ClientError, Envelope, Interrupted, TimedOut

# A turn stopped by the user: how long the peer is given to end it before it is left.
INTERRUPT_GRACE_SECONDS = 5.0
# A turn stopped at its max_time: the same, short, as the limit was the caller's; the text so far
# is kept either way.
GRACE_AT_MAX_TIME_SECONDS = 1.0

Message = Dict[str, Any]   # one protocol message of the peer, as JSON gave it


class Turn:
    on_message: Optional[Callable[[Message], object]]

    if TYPE_CHECKING:   # what the client's turn supplies (an attribute or a property each)
        @property
        def envelope(self) -> Envelope: ...

        @property
        def message_timeout(self) -> Optional[float]: ...

    def interrupt(self) -> None:
        raise NotImplementedError

    def _take_next(self, timeout: Optional[float] = None, ask_on_silence: bool = True) -> Optional[Message]:
        raise NotImplementedError

    def _close(self) -> Envelope:
        raise NotImplementedError

    @property
    def finished(self) -> bool:
        return self.envelope.exit_code is not None

    def events(self) -> Iterator[Message]:
        """Yields each message of the turn as it arrives, already applied to the envelope."""
        while not self.finished:
            message = self._take_next()
            if message is not None:
                yield message
            message = None   # a multi-megabyte message is let go before the next one is read

    def watch(self, callback: Callable[[Message], object]) -> None:
        """Makes `callback` see each message of the turn too (after any watcher it had already)."""
        earlier = self.on_message
        self.on_message = callback if earlier is None else lambda message: (earlier(message), callback(message))

    def result(self, max_time: Optional[float] = None) -> Envelope:
        """Waits for the turn to end and returns its Envelope; an error that ends the wait is in it.
        With `max_time` (seconds), a turn still running then is interrupted and its envelope says
        timeout (exit code 4), with the text so far."""
        return self.result_by(Deadline(max_time))

    def result_by(self, deadline: Deadline) -> Envelope:
        """As `result`, ending at `deadline`: a limit the steps of one call share (starting the peer,
        the turn), which the error names whole, not by what was left of it when the turn began."""
        return self._wait_until(deadline, lambda: self.stop(GRACE_AT_MAX_TIME_SECONDS, TimedOut(
            f"the turn reached its max_time of {deadline.seconds:g}s and was stopped", setting="max_time")))

    def _wait_until(self, deadline: Deadline, at_the_limit: Callable[[], Envelope]) -> Envelope:
        """Waits for the turn's end; once `deadline` has passed, returns what `at_the_limit()` makes of it."""
        try:
            while not self.finished:
                if deadline.passed():
                    return at_the_limit()
                try:
                    self._take_next(deadline.bound(self.message_timeout),
                                    ask_on_silence=not deadline.cuts(self.message_timeout))
                except TimedOut:
                    if not deadline.passed():
                        raise
        except ClientError as error:
            self._fail(error)
        return self._close()

    def stop(self, grace: float = INTERRUPT_GRACE_SECONDS, reason: Optional[ClientError] = None) -> Envelope:
        """Interrupts the turn, gives the peer `grace` seconds to end it, and returns the envelope
        (interrupted, or `reason`, with the text so far)."""
        deadline = time.monotonic() + grace
        try:
            self.interrupt()
            while not self.finished:
                self._take_next(max(0.01, deadline - time.monotonic()), ask_on_silence=False)
        except ClientError:
            pass   # the peer did not end the turn in time: it is left (codex) or stopped (claude)
        return self.abandon(reason or Interrupted("interrupted by the user"))

    def abandon(self, error: ClientError) -> Envelope:
        """Stops waiting for the turn; the envelope says why."""
        self._fail(error)
        return self._close()

    def _fail(self, error: ClientError) -> None:
        self.envelope.fail(error)
