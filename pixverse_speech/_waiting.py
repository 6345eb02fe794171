"""What every wait shares: its checked options, ``on_update`` calls, and the client interface.

Imported by the wait engine (``_engine``) and the batch waits (``_batch``), which import no
client code: they reach the client only through :class:`Backend`.
"""

from __future__ import annotations

import inspect
import math
from collections.abc import Awaitable, Callable
from typing import Protocol

import anyio

from . import _timing
from ._checks import as_float, shown
from ._models import Speech
from ._polling import PollSchedule

__all__ = [
    "CLOSED_MESSAGE",
    "Backend",
    "OnUpdate",
    "WaitOptions",
    "check_timeout",
    "notify",
]

CLOSED_MESSAGE = "this AsyncSpeechAPI is closed; create a new one"

#: Called with the first record a wait sees and with every record whose status changed.
OnUpdate = Callable[[Speech], "Awaitable[object] | object"]


async def notify(on_update: OnUpdate | None, speech: Speech) -> None:
    """Call ``on_update`` (sync or async) with ``speech``."""
    if on_update is None:
        return
    result = on_update(speech)
    if inspect.isawaitable(result):
        await result


def check_timeout(value: object) -> float | None:
    """A wait's ``timeout``: ``None`` (no deadline) or a positive number of seconds."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"timeout must be a number of seconds or None, got {type(value).__name__}")
    seconds = as_float("timeout", value)
    if math.isnan(seconds) or seconds <= 0:
        raise ValueError(f"timeout must be positive, got {shown(value)}")
    return None if math.isinf(seconds) else seconds


class WaitOptions:
    """A wait's options, checked once before any request."""

    __slots__ = ("on_update", "raise_on_failure", "schedule", "timeout")

    def __init__(
        self,
        timeout: float | None,
        schedule: PollSchedule,
        on_update: OnUpdate | None,
        raise_on_failure: bool,
    ) -> None:
        self.timeout = timeout
        self.schedule = schedule
        self.on_update = on_update
        self.raise_on_failure = raise_on_failure

    @classmethod
    def checked(
        cls,
        timeout: object,
        poll_interval: object,
        max_poll_interval: object,
        on_update: object,
        raise_on_failure: object,
        *,
        schedule: PollSchedule | None = None,
    ) -> WaitOptions:
        """Options from user input; ``schedule`` is the one the ``DEFAULT_*`` intervals mean."""
        if on_update is not None and not callable(on_update):
            raise TypeError(f"on_update must be callable, got {type(on_update).__name__}")
        if not isinstance(raise_on_failure, bool):
            raise TypeError(
                f"raise_on_failure must be a bool, got {type(raise_on_failure).__name__}"
            )
        base = schedule if schedule is not None else PollSchedule()
        return cls(
            check_timeout(timeout),
            base.with_overrides(poll_interval, max_poll_interval),
            on_update,
            raise_on_failure,
        )

    def deadline(self) -> float | None:
        return None if self.timeout is None else _timing.current().now() + self.timeout


class Backend(Protocol):
    """What the engine needs of a client: fetch a record, read a page, decode."""

    @property
    def is_closed(self) -> bool: ...

    async def fetch(
        self,
        audio_id: str,
        *,
        limiter: anyio.CapacityLimiter | None = None,
        deadline: float | None = None,
    ) -> Speech:
        """GET ``speech/{audio_id}``, retried as the client's policy allows."""
        ...

    async def read_page(
        self, email: str, offset: int, *, limiter: anyio.CapacityLimiter | None = None
    ) -> object:
        """One list page of ``email`` (``PAGE_SIZE`` jobs from ``offset``), not retried; its
        raw body."""
        ...

    def decode(self, record: object, audio_id: str) -> Speech:
        """One raw record as a :class:`Speech` (or :class:`ResponseDecodeError`)."""
        ...
