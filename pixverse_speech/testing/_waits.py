"""Switching how the client waits: scaled-down real time, or the fake's virtual clock.

Everything the client waits for (poll intervals, retry backoff, wait deadlines) goes through
``pixverse_speech._timing``; these helpers install a different :class:`~pixverse_speech._timing.
Timing` there.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

import anyio.lowlevel

from .. import _timing
from .._timing import Timing
from ._clock import FakeClock

__all__ = ["fast_waits", "reset_timing", "set_sleep_scale", "virtual_time", "virtual_timing"]


@contextmanager
def fast_waits(scale: float = 0.0) -> Iterator[Timing]:
    """Within the block, every client pause lasts ``scale`` times as long (0: no pauses at all).

    Deadlines still run on real time.  What it yields is for this library's own tests.
    """
    with _timing.using(Timing.scaled(scale)) as timing:
        yield timing


def set_sleep_scale(scale: float) -> None:
    """Like :func:`fast_waits`, until :func:`reset_timing` (for fixtures and benchmarks)."""
    _timing.install(Timing.scaled(scale))


def reset_timing() -> None:
    """Put real time back in force for the client."""
    _timing.install(None)


class _VirtualSleepers:
    """The wake times of the tasks sleeping on a fake clock.

    A sleeper first yields once so that sleepers started together all register, then waits until
    it is the earliest one left and moves the clock to its own wake time.  Sleepers started
    together therefore wake in order and leave the clock at the latest wake time, not the sum.
    """

    def __init__(self, clock: FakeClock) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._wakes: list[float] = []

    async def sleep(self, seconds: float) -> None:
        if not seconds > 0:
            await anyio.lowlevel.checkpoint()
            return
        wake = self._clock.now() + seconds
        with self._lock:
            self._wakes.append(wake)
        try:
            await anyio.lowlevel.checkpoint()
            while self._clock.now() < wake:
                with self._lock:
                    earliest = min(self._wakes)
                if wake <= earliest:
                    self._clock.advance_to(wake)
                    break
                await anyio.lowlevel.checkpoint()
        finally:
            with self._lock:
                self._wakes.remove(wake)


def virtual_timing(clock: FakeClock) -> Timing:
    """The switch :func:`virtual_time` turns: the client's time read from ``clock``, and its
    pauses moving ``clock`` on.  Low-level; use :func:`virtual_time` or ``fake.virtual_time()``."""
    if not isinstance(clock, FakeClock):
        raise TypeError(f"virtual time needs a FakeClock, got {clock!r}")
    sleepers = _VirtualSleepers(clock)
    return Timing(now=clock.now, sleep=sleepers.sleep)


@contextmanager
def virtual_time(clock: FakeClock) -> Iterator[FakeClock]:
    """Within the block the client's waits, backoffs and deadlines run on ``clock``, instantly."""
    with _timing.using(virtual_timing(clock)):
        yield clock
