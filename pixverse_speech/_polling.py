"""The poll schedule for a job that is not final yet.

The first look is immediate; then the pause grows geometrically from ``initial`` to ``maximum``,
each pause shortened by up to ``jitter`` of itself so that many waits started together drift apart
instead of polling in lockstep, and never longer than ``maximum``.
"""

from __future__ import annotations

import math
import random
from collections.abc import Iterator

import attrs

from ._checks import as_float, shown

__all__ = ["DEFAULT_MAX_POLL_INTERVAL", "DEFAULT_POLL_INTERVAL", "PollSchedule"]


class _Unset(float):
    """A default that reads as its number but says "not given" (``is`` the constant).

    The wait methods show ``poll_interval=1.0`` in their signature; a client whose engine holds
    another default schedule (webhooks poll every 30 s) applies it only when the caller passed
    nothing.  ``None`` stays a bad value (the bad-input table refuses it).
    """

    __slots__ = ()


#: The signature defaults of ``poll_interval``/``max_poll_interval``: "the client's schedule".
DEFAULT_POLL_INTERVAL: float = _Unset(1.0)
DEFAULT_MAX_POLL_INTERVAL: float = _Unset(4.0)


def _positive(name: str, value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"{name} must be a number of seconds, got {type(value).__name__}")
    seconds = as_float(name, value)
    if not (seconds > 0 and math.isfinite(seconds)):
        raise ValueError(f"{name} must be a positive finite number of seconds, got {shown(value)}")
    return seconds


@attrs.frozen(kw_only=True)
class PollSchedule:
    """Pauses between polls: ``initial``, growing by ``multiplier`` up to ``maximum``."""

    initial: float = 1.0
    # 4 s, not the vendor's 10-15 s: benchmarks/poll_schedule.py shows it is what keeps the mean
    # detection delay under a quarter of fixed 15 s polling (docs/performance.md).
    maximum: float = 4.0
    multiplier: float = 1.5
    jitter: float = 0.1

    @classmethod
    def checked(cls, poll_interval: object, max_poll_interval: object) -> PollSchedule:
        """A schedule from user input, or a ``TypeError``/``ValueError`` naming the bad argument."""
        initial = _positive("poll_interval", poll_interval)
        maximum = _positive("max_poll_interval", max_poll_interval)
        if maximum < initial:
            raise ValueError(
                f"max_poll_interval ({maximum:g}) must not be less than poll_interval ({initial:g})"
            )
        return cls(initial=initial, maximum=maximum)

    def with_overrides(self, poll_interval: object, max_poll_interval: object) -> PollSchedule:
        """This schedule with what the caller passed; a ``DEFAULT_*`` argument keeps ours."""
        keep_initial = poll_interval is DEFAULT_POLL_INTERVAL
        keep_maximum = max_poll_interval is DEFAULT_MAX_POLL_INTERVAL
        if keep_initial and keep_maximum:
            return self
        initial = self.initial if keep_initial else poll_interval
        maximum = self.maximum if keep_maximum else max_poll_interval
        checked = self.checked(initial, maximum)
        return attrs.evolve(self, initial=checked.initial, maximum=checked.maximum)

    def pauses(self, rng: random.Random) -> Iterator[float]:
        """The pauses to take between successive polls, forever."""
        base = self.initial
        while True:
            yield base * (1.0 - self.jitter * rng.random())
            base = min(self.maximum, base * self.multiplier)
