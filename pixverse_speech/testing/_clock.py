"""The fake's clock: when jobs move on, and what their timestamps say.

Clock seconds are anchored at :data:`EPOCH`, so ``created_at`` of a job made at clock time ``t`` is
``EPOCH + t`` written the way the API writes it (``2026-06-23T12:00:05Z``).
"""

from __future__ import annotations

import math
import threading
import time
from datetime import datetime, timedelta, timezone
from typing import Protocol, runtime_checkable

__all__ = ["EPOCH", "Clock", "FakeClock", "RealClock", "iso_timestamp"]

#: The wall-clock instant that clock time ``0.0`` stands for in the fake's timestamps.
EPOCH = datetime(2026, 6, 23, 12, 0, 0, tzinfo=timezone.utc)


@runtime_checkable
class Clock(Protocol):
    """Anything with ``now()`` in seconds that never goes backwards."""

    def now(self) -> float:
        """The current time in seconds."""
        ...


class FakeClock:
    """A clock that moves only when told to: ``advance(seconds)`` or ``set(t)``.

    Safe to read and move from several threads (a served fake reads it on the server's thread).
    """

    def __init__(self, start: float = 0.0) -> None:
        self._lock = threading.Lock()
        self._now = float(start)

    def __repr__(self) -> str:
        return f"FakeClock(now={self.now()!r})"

    def now(self) -> float:
        """The current clock time in seconds."""
        with self._lock:
            return self._now

    def advance(self, seconds: float) -> float:
        """Move the clock forward by ``seconds`` (>= 0); returns the new time."""
        if not seconds >= 0:
            raise ValueError(f"cannot advance a clock by {seconds!r} seconds")
        with self._lock:
            self._now += seconds
            return self._now

    def set(self, t: float) -> None:
        """Move the clock to ``t``, which must not be earlier than now."""
        with self._lock:
            if not t >= self._now:
                raise ValueError(f"a clock cannot go back from {self._now!r} to {t!r}")
            self._now = float(t)

    def advance_to(self, t: float) -> float:
        """Move the clock to ``max(now, t)``; returns the new time."""
        with self._lock:
            if t > self._now:
                self._now = float(t)
            return self._now


class RealClock:
    """Wall time: seconds since this clock was made, from :func:`time.monotonic`.

    ``speed`` makes it run that many times faster than the wall (``speed=20``: a job of 60 s ends
    after 3 s), for flows that need real concurrency but not real durations, such as webhook
    callbacks; pair it with ``fast_waits(1 / speed)`` so the client's pauses shrink alike.
    """

    def __init__(self, *, speed: float = 1.0) -> None:
        if isinstance(speed, bool) or not isinstance(speed, (int, float)):
            raise TypeError(f"speed must be a number, got {type(speed).__name__}")
        if not (speed > 0 and math.isfinite(speed)):
            raise ValueError(f"speed must be a positive finite number, got {speed!r}")
        self._origin = time.monotonic()
        self.speed = float(speed)

    def __repr__(self) -> str:
        return "RealClock()" if self.speed == 1.0 else f"RealClock(speed={self.speed!r})"

    def now(self) -> float:
        """Seconds since the clock was made (times ``speed``)."""
        return (time.monotonic() - self._origin) * self.speed


def iso_timestamp(seconds: float) -> str:
    """Clock time ``seconds`` as the API writes timestamps: ISO 8601, whole seconds, ``Z``."""
    return (EPOCH + timedelta(seconds=int(seconds))).strftime("%Y-%m-%dT%H:%M:%SZ")
