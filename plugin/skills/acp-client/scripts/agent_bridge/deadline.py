"""A limit on a call, as a value: when it ends and how long is left. Any thread may wait on one;
no signal is involved."""
from __future__ import annotations

import time
from typing import Optional


class Deadline:
    """`seconds` from now (None: no limit; 0 or less: already passed)."""

    def __init__(self, seconds: Optional[float]) -> None:
        self.seconds = seconds
        self.at = None if seconds is None else time.monotonic() + seconds

    def remaining(self) -> Optional[float]:
        """Seconds left, never below 0; None when there is no limit."""
        return None if self.at is None else max(0.0, self.at - time.monotonic())

    def passed(self) -> bool:
        return self.at is not None and time.monotonic() >= self.at

    def bound(self, timeout: Optional[float]) -> Optional[float]:
        """The shorter of `timeout` and the time left (None meaning no limit)."""
        remaining = self.remaining()
        if remaining is None:
            return timeout
        return remaining if timeout is None else min(timeout, remaining)

    def cuts(self, timeout: Optional[float]) -> bool:
        """True when the limit comes before `timeout` would."""
        remaining = self.remaining()
        return remaining is not None and (timeout is None or remaining < timeout)
