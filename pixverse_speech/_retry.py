"""The retry policy for one failing HTTP request.

Separate from the poll schedule (``_polling.py``), which decides how often an unfinished job is
looked at, and from the per-request timeout, which httpx enforces: the three answer different
questions and are tuned apart.
"""

from __future__ import annotations

import random
from collections.abc import Mapping
from datetime import datetime, timezone
from email.utils import parsedate_to_datetime
from typing import Literal

import attrs
import httpx

from ._exceptions import APIConnectionError, APIError, ResponseDecodeError, SpeechError

__all__ = [
    "NEVER_SENT",
    "RETRY_STATUSES",
    "RetryPolicy",
    "RetryScope",
    "is_retryable",
    "is_transient",
    "parse_retry_after",
]

#: Statuses worth another try: the request timed out on the server, the account was busy, or
#: the upstream had trouble.  400/401/404/596 and the rest mean the same request will fail again.
RETRY_STATUSES = frozenset({408, 429, 500, 502, 503, 504})

#: ``"any"``: the request is safe to repeat (GET).  ``"unsent"``: repeat it only when the server
#: surely never saw it (the connection was never made, or a 429 refused it).
RetryScope = Literal["any", "unsent"]

#: Transport errors raised before the request left: the server never saw it.
NEVER_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)
#: Network trouble that another try may not meet.  An unsupported protocol, a proxy refusal or a
#: redirect loop will fail the same way again, so they are not here.
NETWORK_TROUBLE = (httpx.TimeoutException, httpx.NetworkError, httpx.RemoteProtocolError)


def is_retryable(exc: SpeechError, scope: RetryScope = "any") -> bool:
    """Whether sending the same request again may succeed: the one rule for every request.

    408, 429 and the 5xx of :data:`RETRY_STATUSES` and network trouble qualify; 596, 501, 505,
    every other 4xx and a malformed body do not.  With ``scope="unsent"`` only what proves the
    server never acted on the request does: a 429, or a connection that was never made.
    """
    if isinstance(exc, APIError):
        return exc.status_code in RETRY_STATUSES and (scope == "any" or exc.status_code == 429)
    if isinstance(exc, APIConnectionError):
        return isinstance(exc.__cause__, NEVER_SENT if scope == "unsent" else NETWORK_TROUBLE)
    return False


def is_transient(exc: SpeechError) -> bool:
    """Whether a failed look at a job says nothing about the job, so that a wait goes on.

    What :func:`is_retryable` allows, and a malformed body: the job may read fine next time,
    although the same request is not repeated at once.  Everything else ends a wait, as it fails
    :meth:`~pixverse_speech.AsyncSpeechAPI.get`.
    """
    return is_retryable(exc) or isinstance(exc, ResponseDecodeError)


@attrs.frozen(kw_only=True)
class RetryPolicy:
    """How many times, and after what pause, one request is tried again.

    The pause before retry ``n`` (0-based) is drawn uniformly from ``[b/2, b]`` where
    ``b = min(max_backoff, initial_backoff * 2**n)``: exponential, capped, and jittered so that
    many clients failing together do not retry together.  A server's ``Retry-After`` replaces the
    drawn pause; one longer than ``max_retry_after`` is not waited for, the error is raised at once
    so the caller can decide.
    """

    max_retries: int = 3
    initial_backoff: float = 0.5
    max_backoff: float = 8.0
    max_retry_after: float = 60.0

    def ceiling(self, attempt: int) -> float:
        """The longest pause before retry number ``attempt`` (0-based): the backoff formula."""
        return min(self.max_backoff, self.initial_backoff * 2.0 ** min(attempt, 32))

    def backoff(self, attempt: int, rng: random.Random) -> float:
        """The jittered pause before retry number ``attempt`` (0-based)."""
        ceiling = self.ceiling(attempt)
        return rng.uniform(ceiling / 2, ceiling)

    def pause(self, attempt: int, retry_after: float | None, rng: random.Random) -> float | None:
        """The pause before retry ``attempt``, or ``None`` when no retry should be made."""
        if attempt >= self.max_retries:
            return None
        if retry_after is None:
            return self.backoff(attempt, rng)
        if retry_after > self.max_retry_after:
            return None
        return retry_after

    def capped(self, retry_after: float) -> float:
        """The pause a wait takes for a ``Retry-After``: at most ``max_retry_after``.

        A wait never sleeps longer than that: it looks at the job again then (and a pause never
        runs past the wait's deadline, which the wait enforces).
        """
        return min(max(0.0, retry_after), self.max_retry_after)

    def slow_down(self, attempt: int, retry_after: float | None, rng: random.Random) -> float:
        """The pause after refusal number ``attempt`` (0-based) of a request that is not retried
        in place (a list page): the capped ``Retry-After``, else the retry backoff."""
        if retry_after is None:
            return self.backoff(attempt, rng)
        return self.capped(retry_after)


def parse_retry_after(headers: Mapping[str, str], *, now: datetime | None = None) -> float | None:
    """Seconds the server asked us to wait, from ``retry-after-ms`` or ``Retry-After``.

    ``Retry-After`` may be delta-seconds or an HTTP date; anything unreadable counts as absent and a
    date in the past as zero.
    """
    millis = headers.get("retry-after-ms")
    if millis is not None:
        try:
            value = float(millis) / 1000.0
        except ValueError:
            pass
        else:
            if value == value and value >= 0:  # NaN is not a pause
                return min(value, 1e9)
    raw = headers.get("retry-after")
    if raw is None:
        return None
    raw = raw.strip()
    try:
        seconds = float(raw)
    except ValueError:
        pass
    else:
        return min(seconds, 1e9) if seconds >= 0 else None
    try:
        when = parsedate_to_datetime(raw)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    delta = (when - (now or datetime.now(timezone.utc))).total_seconds()
    return max(0.0, delta)
