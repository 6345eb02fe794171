"""How retries are logged: one line per retry that names the request once.

Retries are routine, so they log at INFO; the last retry before the client would give up logs at
WARNING, since a failure of that one reaches the caller.
"""

from __future__ import annotations

import logging

from ._exceptions import APIError

__all__ = ["log_retry"]

logger = logging.getLogger("pixverse_speech")


def log_retry(
    request: str, exc: BaseException, attempt: int, max_retries: int, pause: float
) -> None:
    """Log retry ``attempt`` of ``max_retries`` of ``request`` (e.g. ``"GET /v2/…/speech/"``).

    The errors of a failed connection already start with the request; an API error does not.
    """
    # An API error's own text adds the job's id, which the request's path already shows.
    reason = f"HTTP {exc.status_code}: {exc.message}" if isinstance(exc, APIError) else str(exc)
    described = reason if reason.startswith(request) else f"{request}: {reason}"
    level = logging.WARNING if attempt >= max_retries else logging.INFO
    logger.log(level, "%s; retry %d of %d in %.2fs", described, attempt, max_retries, pause)
