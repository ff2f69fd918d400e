"""--max-time: a limit on a whole call, whatever the peer is doing (retrying, streaming, waiting).

When the limit passes, the main thread gets a KeyboardInterrupt, so the call stops the way
Ctrl-C stops it: the turn is interrupted on the peer and the text so far is kept. The
envelope then says timeout (exit 4) rather than interrupted.
"""
import signal
import threading
import time
import _thread

from ..outcome import TimedOut


class CallLimit:
    def __init__(self, seconds):
        self.seconds = seconds or None
        self.reason = f"the call reached --max-time {seconds:g}s and was stopped" if seconds else None
        self.reached = False
        self._timer = None
        self._deadline = None

    def start(self):
        if not self.seconds:
            return
        self._deadline = time.monotonic() + self.seconds
        if hasattr(signal, "setitimer"):
            # A real signal: it also wakes a main thread blocked on a queue or a socket.
            signal.signal(signal.SIGALRM, self._on_alarm)
            signal.setitimer(signal.ITIMER_REAL, self.seconds)
        else:
            self._timer = threading.Timer(self.seconds, self._expire)
            self._timer.daemon = True
            self._timer.start()

    def cancel(self):
        if self._timer is not None:
            self._timer.cancel()
        elif self.seconds and hasattr(signal, "setitimer"):
            signal.setitimer(signal.ITIMER_REAL, 0)

    def tighten(self, seconds, reason):
        """Ends the call `seconds` from now instead, when that comes sooner; `reason` then says why."""
        if not seconds or (self._deadline is not None and self._deadline - time.monotonic() <= seconds):
            return
        self.cancel()
        self.seconds, self.reason = seconds, reason
        self.start()

    def judge(self, envelope):
        """An envelope that ended interrupted because the limit passed ends as a timeout."""
        if self.reached and envelope.status == "interrupted":
            envelope.fail(TimedOut(self.reason))
        return envelope

    def _on_alarm(self, signum, frame):
        self.reached = True
        raise KeyboardInterrupt

    def _expire(self):
        self.reached = True
        _thread.interrupt_main()
