"""Where the library reads the time and sleeps: the one switch tests turn.

Every pause the library takes (retry backoff, poll intervals) and every wait deadline goes through
the active :class:`Timing`.  In production that is the event loop's clock and ``anyio.sleep``;
``pixverse_speech.testing`` swaps in scaled-down or virtual time so that code which waits for jobs
can be tested in milliseconds.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager

import anyio
import attrs

__all__ = ["Timing", "current", "install", "using"]


async def _real_sleep(seconds: float) -> None:
    await anyio.sleep(seconds)


@attrs.frozen
class Timing:
    """A clock (``now()`` in seconds) and a way to pause (``await sleep(seconds)``)."""

    now: Callable[[], float] = anyio.current_time
    sleep: Callable[[float], Awaitable[None]] = _real_sleep

    @classmethod
    def scaled(cls, factor: float) -> Timing:
        """Real time, with every pause multiplied by ``factor`` (0 turns pauses off)."""
        if not factor >= 0:
            raise ValueError(f"factor must be >= 0, got {factor!r}")

        async def sleep(seconds: float) -> None:
            await anyio.sleep(seconds * factor)

        return cls(sleep=sleep)


_REAL = Timing()
_active = _REAL


def current() -> Timing:
    """The timing in force."""
    return _active


def install(timing: Timing | None) -> Timing:
    """Put ``timing`` (``None``: real time) in force; returns the one it replaces."""
    global _active
    previous, _active = _active, (timing or _REAL)
    return previous


@contextmanager
def using(timing: Timing) -> Iterator[Timing]:
    """Put ``timing`` in force for the ``with`` block."""
    previous = install(timing)
    try:
        yield timing
    finally:
        install(previous)
