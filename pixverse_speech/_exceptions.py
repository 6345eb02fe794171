"""Every error this library raises, in one place.

The hierarchy::

    SpeechError
    ├── APIError                      the API answered with an error status
    │   ├── BadRequestError           400  bad input
    │   ├── AuthenticationError       401  bad or missing token
    │   ├── PaymentRequiredError      402  no subscription, or it expired
    │   ├── NotFoundError             404  deleted or not found
    │   ├── InsufficientCreditsError  412  not enough credits
    │   ├── ModerationError           422  the prompt was moderated
    │   ├── RateLimitError            429  account busy; ``retry_after`` when the server said
    │   └── ServerError               5xx  upstream trouble
    │       └── AccountError          596  the linked account is in an error state
    ├── APIConnectionError            could not reach the API, or the connection broke
    │   └── APITimeoutError           a request took longer than its timeout
    ├── ResponseDecodeError           a 2xx body that is not JSON or has a field of the wrong type
    ├── SpeechFailedError             the job ended FAILED; carries the ``Speech``
    └── WaitTimeoutError              a wait hit its deadline (also a ``TimeoutError``)

Every error keeps what it knows: the status, the API's own message, the response, and the
``audio_id`` of the job it concerns, so that a job id is never lost with the error.  No message
ever contains the API token.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import httpx

    from ._models import Speech

__all__ = [
    "APIConnectionError",
    "APIError",
    "APITimeoutError",
    "AccountError",
    "AuthenticationError",
    "BadRequestError",
    "InsufficientCreditsError",
    "ModerationError",
    "NotFoundError",
    "PaymentRequiredError",
    "RateLimitError",
    "ResponseDecodeError",
    "ServerError",
    "SpeechError",
    "SpeechFailedError",
    "WaitTimeoutError",
    "error_for_status",
]


class SpeechError(Exception):
    """Base class of every error raised by ``pixverse_speech``.

    ``audio_id`` is the job the failed call was about, when there was one.
    """

    audio_id: str | None

    def __init__(self, message: str, *, audio_id: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.audio_id = audio_id

    def __str__(self) -> str:
        return self.message


class APIError(SpeechError):
    """The API answered with an error status.

    ``status_code`` is the HTTP status, ``message`` the body's ``"error"`` text (or a short
    excerpt of a body that has none), ``code`` the body's ``"code"`` when present, ``body`` the
    decoded body (``None`` when it was not JSON) and ``response`` the :class:`httpx.Response`.
    """

    def __init__(
        self,
        message: str,
        *,
        status_code: int,
        response: httpx.Response | None = None,
        body: Any = None,
        code: int | None = None,
        audio_id: str | None = None,
    ) -> None:
        super().__init__(message, audio_id=audio_id)
        self.status_code = status_code
        self.response = response
        self.body = body
        self.code = code

    def __str__(self) -> str:
        where = f" (audio_id={self.audio_id})" if self.audio_id else ""
        return f"HTTP {self.status_code}: {self.message}{where}"


class BadRequestError(APIError):
    """400: the API refused the input."""


class AuthenticationError(APIError):
    """401: the token is wrong, expired or missing."""


class PaymentRequiredError(APIError):
    """402: no subscription, or it expired."""


class NotFoundError(APIError):
    """404: the job was deleted or never existed."""


class InsufficientCreditsError(APIError):
    """412: the account has not enough credits."""


class ModerationError(APIError):
    """422: the prompt was moderated."""


class RateLimitError(APIError):
    """429: the account is busy or at its concurrent-job limit.

    ``retry_after`` is the pause in seconds the server asked for, or ``None``.
    """

    def __init__(self, message: str, *, retry_after: float | None = None, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.retry_after = retry_after


class ServerError(APIError):
    """5xx: trouble on the API's side."""


class AccountError(ServerError):
    """596: the linked PixVerse account is in an error state; retrying will not help."""


class APIConnectionError(SpeechError):
    """The API could not be reached, or the connection broke before a full answer came."""


class APITimeoutError(APIConnectionError):
    """A request took longer than its timeout."""


class ResponseDecodeError(SpeechError):
    """A successful response whose body is not what the API documents.

    ``field`` names the offending field (dotted, e.g. ``data[3].duration``) when one is to blame.
    """

    def __init__(
        self,
        message: str,
        *,
        field: str | None = None,
        response: httpx.Response | None = None,
        audio_id: str | None = None,
    ) -> None:
        super().__init__(message, audio_id=audio_id)
        self.field = field
        self.response = response


class SpeechFailedError(SpeechError):
    """The job ended FAILED; ``speech`` is its final record, with ``fail_code``/``fail_reason``."""

    def __init__(self, speech: Speech) -> None:
        detail = ", ".join(
            f"{name}={value!r}"
            for name, value in (
                ("fail_code", speech.fail_code),
                ("fail_reason", speech.fail_reason),
            )
            if value is not None
        )
        message = f"speech {speech.audio_id} failed" + (f": {detail}" if detail else "")
        super().__init__(message, audio_id=speech.audio_id)
        self.speech = speech


class WaitTimeoutError(SpeechError, TimeoutError):
    """A wait reached its deadline before the job was final.

    ``last`` is the last record seen (``None`` if no poll succeeded), ``timeout`` the deadline in
    seconds and ``last_error`` the last transient error met while polling, if any.
    """

    def __init__(
        self,
        audio_id: str,
        *,
        timeout: float,
        last: Speech | None,
        last_error: SpeechError | None = None,
    ) -> None:
        state = last.status_name if last is not None else "never observed"
        message = f"speech {audio_id} was not final after {timeout:g}s (last status: {state})"
        if last_error is not None:
            message += f"; last error: {last_error}"
        super().__init__(message, audio_id=audio_id)
        self.timeout = timeout
        self.last = last
        self.last_error = last_error


_BY_STATUS: dict[int, type[APIError]] = {
    400: BadRequestError,
    401: AuthenticationError,
    402: PaymentRequiredError,
    404: NotFoundError,
    412: InsufficientCreditsError,
    422: ModerationError,
    429: RateLimitError,
    596: AccountError,
}


def error_for_status(status_code: int) -> type[APIError]:
    """The most specific :class:`APIError` subclass for an HTTP status."""
    if status_code in _BY_STATUS:
        return _BY_STATUS[status_code]
    if 500 <= status_code <= 599:
        return ServerError
    return APIError
