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
    ├── ResponseDecodeError           a 2xx body that is not JSON, or has an essential field wrong
    ├── SpeechFailedError             the job ended FAILED; carries the ``Speech``
    │   └── GenerationFailedError     every try of ``generate()`` ended FAILED; ``attempts``
    ├── WaitTimeoutError              a wait hit its deadline (also a ``TimeoutError``)
    ├── BatchGenerationError          ``generate_many`` failed as a whole; ``results``, ``created``
    └── DownloadError                 the audio could not be downloaded; ``url``, ``status_code``
        ├── AudioNotAvailableError    the job is not COMPLETED or has no ``url`` (no request made)
        ├── DownloadFileError         the file could not be written; ``errno``, ``filename``
        └── DownloadSizeError         the body's size is wrong (``file_size``, ``max_bytes``...)

Every error keeps what it knows: the status, the API's own message, the response, and the
``audio_id`` of the job it concerns, so that a job id is never lost with the error.
``audio_ids`` lists every job the failed call concerns: ``(audio_id,)`` for a one-job call, and
for ``generate()`` every job it created before it failed, whatever the error.

An error from a request that creates a job (POST ``speech/create``) also says whether that job may
exist, in ``job_may_exist`` and in its message: ``False`` when the API surely did not create it (the
connection was never made, a 429, another 4xx but 408), ``True`` when it may have (a timeout after
the request was sent, a dropped connection, a 408 or a 5xx, or a 2xx that could not be read).  It is
``None`` for every other request.  No message ever contains the API token.
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
    "AudioNotAvailableError",
    "AuthenticationError",
    "BadRequestError",
    "BatchGenerationError",
    "DownloadError",
    "DownloadFileError",
    "DownloadSizeError",
    "GenerationFailedError",
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

    ``audio_id`` is the job the failed call was about, when there was one; ``audio_ids`` every job
    the call concerned (for ``generate()``: every job it created).  ``job_may_exist`` is set on the
    errors of a request that creates a job: ``True`` when the job may have been created (look for
    it before submitting again), ``False`` when it surely was not, ``None`` for other requests.
    """

    audio_id: str | None
    audio_ids: tuple[str, ...]
    job_may_exist: bool | None = None

    def __init__(self, message: str, *, audio_id: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.audio_id = audio_id
        self.audio_ids = (audio_id,) if audio_id else ()

    def __str__(self) -> str:
        return self.message + self._job_note()

    def __reduce__(self) -> tuple[Any, ...]:
        # The default (``cls(*args)``) cannot rebuild an error whose __init__ takes keyword-only
        # arguments or a Speech.  Rebuild from the attributes instead, without the
        # httpx.Response: it cannot be pickled, and its request carries the API token.
        state = {name: None if name == "response" else value for name, value in vars(self).items()}
        return (_rebuild, (type(self), self.args, state))

    def _job_note(self) -> str:
        if self.job_may_exist is None:
            return ""
        if self.job_may_exist:
            return (
                "; the request may have reached the API, so the job may exist:"
                " look for it (list()) before submitting again"
            )
        return "; the API did not create the job"


class APIError(SpeechError):
    """The API answered with an error status.

    ``status_code`` is the HTTP status, ``message`` the body's ``"error"`` text (or a short
    excerpt of a body that has none), ``code`` the body's ``"code"`` when present, ``body`` the
    decoded body (``None`` when it was not JSON) and ``response`` the :class:`httpx.Response`.
    ``retry_after`` is the pause in seconds the server asked for (``Retry-After`` or
    ``retry-after-ms``, on a 429 or a 503 alike), or ``None``.
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
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message, audio_id=audio_id)
        self.status_code = status_code
        self.response = response
        self.body = body
        self.code = code
        self.retry_after = retry_after

    def __str__(self) -> str:
        where = f" (audio_id={self.audio_id})" if self.audio_id else ""
        return f"HTTP {self.status_code}: {self.message}{where}{self._job_note()}"


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


class ServerError(APIError):
    """5xx: trouble on the API's side."""


class AccountError(ServerError):
    """596: the linked PixVerse account is in an error state; retrying will not help."""


class APIConnectionError(SpeechError):
    """The API could not be reached, or the connection broke before a full answer came."""


class APITimeoutError(APIConnectionError):
    """A request took longer than its timeout."""


class ResponseDecodeError(SpeechError):
    """A successful response whose body the library cannot use.

    Raised for a body that is not JSON or not a JSON object, a list body whose list (``data``,
    ``voices``, ``provider_groups``) is not a list, and a job whose ``audio_id`` (a string),
    ``audio_status`` (an integer) or ``audio_status_final`` (a boolean) has the wrong type: the
    fields the library's logic depends on.  Any other field of the wrong type is not an error:
    it decodes to ``None`` and its value is kept in the record's ``invalid_fields``.

    ``field`` names the essential field to blame (``audio_status``), or is ``None`` when the body
    itself is.
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


class GenerationFailedError(SpeechFailedError):
    """Every try of ``generate()`` ended FAILED.

    ``attempts`` holds the final record of every job tried, in order (``speech`` is the last one),
    and ``audio_ids`` their ids.  ``out_of_time`` is true when tries were left but the deadline
    had passed.
    """

    def __init__(
        self,
        attempts: tuple[Speech, ...],
        *,
        audio_ids: tuple[str, ...],
        out_of_time: bool = False,
    ) -> None:
        super().__init__(attempts[-1])
        self.attempts = attempts
        self.audio_ids = audio_ids
        self.out_of_time = out_of_time
        tries = []
        for audio_id, speech in zip(audio_ids, attempts, strict=False):
            reason = speech.fail_reason or speech.fail_code or "no reason given"
            tries.append(f"{audio_id} ({reason})")
        count = "the only try" if len(attempts) == 1 else f"all {len(attempts)} tries"
        self.message = f"speech generation failed, {count}: " + "; ".join(tries)
        if out_of_time:
            self.message += "; the deadline left no time for another try"


class BatchGenerationError(SpeechError):
    """A ``generate_many`` batch failed as a whole: its deadline passed, or an error that is not
    one item's (a 401, 402, 412 or 596, a callback that raised) stopped it.

    ``results`` has one slot per item, in input order: the item's result when it had ended
    (a ``Speech`` or the ``SpeechError`` that ended it), else ``None``.  ``created`` maps each
    item's index to every job id created for it, in order, unfinished ones included; ``audio_ids``
    lists them all.  ``timed_out`` is true when the deadline ended the batch.  The error that
    stopped it, if any, is the ``__cause__``.
    """

    def __init__(
        self,
        message: str,
        *,
        results: list[Any],
        created: dict[int, tuple[str, ...]],
        timed_out: bool = False,
    ) -> None:
        super().__init__(message)
        self.results = results
        self.created = created
        self.timed_out = timed_out
        self.audio_ids = tuple(audio_id for ids in created.values() for audio_id in ids)


class DownloadError(SpeechError):
    """The audio could not be downloaded.

    ``url`` is what was asked for, ``status_code`` the media host's HTTP status when it answered
    with an error (else ``None``; a connection failure is the ``__cause__``).
    """

    def __init__(
        self,
        message: str,
        *,
        url: str | None = None,
        status_code: int | None = None,
        audio_id: str | None = None,
    ) -> None:
        super().__init__(message, audio_id=audio_id)
        self.url = url
        self.status_code = status_code


class AudioNotAvailableError(DownloadError):
    """The job has no audio to download yet: it is not COMPLETED, or it has no ``url``."""


class DownloadFileError(DownloadError):
    """The audio could not be written: a missing directory, a directory in the way, a full disk.

    The ``OSError`` is the ``__cause__``; ``errno`` and ``filename`` are copied from it.
    """

    def __init__(
        self,
        message: str,
        *,
        errno: int | None = None,
        filename: str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(message, **kwargs)
        self.errno = errno
        self.filename = filename


class DownloadSizeError(DownloadError):
    """The body is not the size it should be.

    ``expected`` is what it should be (the job's ``file_size``, else the ``Content-Length``, else
    the ``max_bytes`` cap of :meth:`~AsyncSpeechAPI.download`), ``received`` the bytes received
    (when the body went past ``expected``: up to the chunk that did, at which reading stopped).
    """

    def __init__(self, message: str, *, expected: int, received: int, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.expected = expected
        self.received = received


def _rebuild(cls: type[SpeechError], args: tuple[Any, ...], state: dict[str, Any]) -> SpeechError:
    """An error unpickled: its attributes restored without running its ``__init__``."""
    error = cls.__new__(cls)
    Exception.__init__(error, *args)
    error.__dict__.update(state)
    return error


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
