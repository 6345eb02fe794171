"""Downloading a job's audio from the media host, safely.

* The API token never goes to the media host: the request is built without the client's auth and
  any ``Authorization`` header is removed before it is sent (also from a caller's own
  ``httpx.AsyncClient`` with default headers or auth).
* The body is streamed in chunks, never held in memory whole.
* A path is written atomically: into a temporary file beside it (``.<name>.<random>.part``),
  flushed to disk, then renamed over the destination with ``os.replace``.  The temporary file is
  removed on any failure and on cancellation, so the destination is either the whole new file or
  untouched.  File-system calls on it run in a worker thread (``anyio.to_thread``).
* A file object gets the chunks through its own ``write``, called in the event-loop thread (an
  awaitable result, as from an async file, is awaited); it is left open and holds whatever was
  received when the download fails.
* The size is bounded: reading stops with :class:`DownloadSizeError` at the first byte past the
  job's ``file_size``, else past the ``Content-Length``, else past ``max_bytes`` (1 GiB), counted
  after decompression, which is done in bounded steps (``_body``).
* Time is bounded: the client's numeric ``timeout`` is a stall limit on the headers and on each
  chunk of the body, and ``timeout`` (600 s) is the limit of the whole download, retries included.
* Only http and https redirects are followed, at most :data:`MAX_REDIRECTS` of them; any other is
  a :class:`DownloadError` at once.
* A file-system failure is a :class:`DownloadFileError` chained to the ``OSError``.
* Transient failures (connection errors, timeouts, 408, 429, 5xx) are retried with the client's
  retry policy, honouring ``Retry-After``; a retry restarts the stream from the beginning, which a
  file object allows only when it is seekable (it is rewound and truncated) or nothing was
  written to it yet.
"""

from __future__ import annotations

import contextlib
import errno
import inspect
import logging
import math
import os
import secrets
from typing import IO, Any, Protocol

import anyio
import anyio.to_thread
import httpx

from . import _timing
from ._body import ACCEPT_ENCODING, Inflater, RawReader
from ._checks import check_int
from ._exceptions import (
    AudioNotAvailableError,
    DownloadError,
    DownloadFileError,
    DownloadSizeError,
)
from ._http import Sender
from ._logs import log_retry
from ._models import Speech
from ._retry import RETRY_STATUSES, parse_retry_after

__all__ = [
    "DEFAULT_CHUNK_SIZE",
    "DEFAULT_DOWNLOAD_TIMEOUT",
    "DEFAULT_MAX_BYTES",
    "MAX_REDIRECTS",
    "MAX_URL_LENGTH",
    "Writable",
    "download",
]

logger = logging.getLogger("pixverse_speech")

DEFAULT_CHUNK_SIZE = 64 * 1024
#: The cap on a download whose size neither the job nor the media host states.
DEFAULT_MAX_BYTES = 1024**3
#: The limit of a whole download, in seconds, retries included.
DEFAULT_DOWNLOAD_TIMEOUT = 600.0
MAX_REDIRECTS = 5
#: The longest URL ``download()`` accepts, in characters.
MAX_URL_LENGTH = 8_192


def _file_error(exc: OSError, doing: str, **kwargs: Any) -> DownloadFileError:
    """The error for a failed file-system call, keeping the ``OSError``'s ``errno``."""
    error = DownloadFileError(
        f"download failed: could not {doing}: {exc}",
        errno=exc.errno,
        filename=None if exc.filename is None else str(exc.filename),
        **kwargs,
    )
    error.__cause__ = exc
    return error


class Writable(Protocol):
    """A binary file object: anything with ``write(bytes)``, sync or returning an awaitable."""

    def write(self, data: bytes, /) -> object: ...


class _Transient(Exception):
    """A failed attempt worth another try: the error to raise when none is left, the pause asked."""

    def __init__(self, error: DownloadError, retry_after: float | None = None) -> None:
        super().__init__(str(error))
        self.error = error
        self.retry_after = retry_after


class _Sink(Protocol):
    def can_restart(self) -> bool: ...

    async def restart(self) -> None: ...

    async def write(self, chunk: bytes) -> None: ...


class _FileSink:
    """A file of ours, written in a worker thread."""

    def __init__(self, file: IO[bytes]) -> None:
        self.file = file

    def can_restart(self) -> bool:
        return True

    async def restart(self) -> None:
        try:
            await anyio.to_thread.run_sync(self._truncate)
        except OSError as exc:
            raise _file_error(exc, "rewind the temporary file") from exc

    def _truncate(self) -> None:
        self.file.seek(0)
        self.file.truncate()

    async def write(self, chunk: bytes) -> None:
        try:
            await anyio.to_thread.run_sync(self.file.write, chunk)
        except OSError as exc:
            raise _file_error(exc, "write the temporary file") from exc


class _ObjectSink:
    """The caller's file object, written through its own ``write``."""

    def __init__(self, target: Writable) -> None:
        self.target = target
        self.written = 0
        self.start: int | None = None
        # An async file (whose write is a coroutine function) is never rewound: its seek and
        # truncate are coroutines too.  A sync one is, when it says it is seekable.
        seekable = getattr(target, "seekable", None)
        if (
            not inspect.iscoroutinefunction(target.write)
            and callable(seekable)
            and callable(getattr(target, "truncate", None))
        ):
            with contextlib.suppress(Exception):
                if seekable() is True:
                    position = target.tell()  # type: ignore[attr-defined]
                    if isinstance(position, int):
                        self.start = position

    def can_restart(self) -> bool:
        return self.written == 0 or self.start is not None

    async def restart(self) -> None:
        if self.written and self.start is not None:
            try:
                self.target.seek(self.start)  # type: ignore[attr-defined]
                self.target.truncate()  # type: ignore[attr-defined]
            except OSError as exc:
                raise _file_error(exc, "rewind the file object") from exc
        self.written = 0

    async def write(self, chunk: bytes) -> None:
        try:
            await self._write(chunk)
        except OSError as exc:
            raise _file_error(exc, "write to the file object") from exc

    async def _write(self, chunk: bytes) -> None:
        remaining = chunk
        while remaining:
            result = self.target.write(remaining)
            if inspect.isawaitable(result):
                self.start = None  # an async file after all: never rewind it
                result = await result
            # A raw (unbuffered) file may take less than it was given: write the rest.
            taken = len(remaining)
            if isinstance(result, int) and 0 < result < taken:
                taken = result
            self.written += taken
            remaining = remaining[taken:]


def _source(source: object) -> tuple[str, int | None, str | None]:
    """The URL to fetch, the expected size and the job id, or an error before any request."""
    if isinstance(source, Speech):
        audio_id = source.audio_id
        if not source.is_completed:
            raise AudioNotAvailableError(
                f"speech {audio_id} has no audio: it is not COMPLETED "
                f"(status: {source.status_name}); wait_until_final() for it first",
                audio_id=audio_id,
            )
        if source.url is None or not source.url.strip():
            raise AudioNotAvailableError(
                f"speech {audio_id} is COMPLETED but has no url; get() it again", audio_id=audio_id
            )
        url, expected = source.url, source.file_size
    elif isinstance(source, str):
        url, expected, audio_id = source, None, None
    else:
        raise TypeError(f"speech_or_url must be a Speech or a URL, got {type(source).__name__}")
    if len(url) > MAX_URL_LENGTH:
        raise ValueError(
            f"speech_or_url is too long: a URL of {len(url):,} characters, "
            f"at most {MAX_URL_LENGTH:,}"
        )
    try:
        parsed = httpx.URL(url.strip())
    except (httpx.InvalidURL, UnicodeError):  # UnicodeError: a lone surrogate
        parsed = None
    if parsed is None or parsed.scheme not in ("http", "https") or not parsed.host:
        raise ValueError(f"speech_or_url must be an absolute http(s) URL, got {url!r}")
    return str(parsed), expected, audio_id


def _shown(url: str) -> str:
    """The URL without its query, which may hold a signature: safe for messages and logs."""
    return str(httpx.URL(url).copy_with(query=None, fragment=None))


def _check_chunk_size(value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"chunk_size must be an integer, got {type(value).__name__}")
    if value < 1:
        raise ValueError(f"chunk_size must be >= 1, got {value}")
    return value


async def download(
    sender: Sender,
    source: Speech | str,
    destination: str | os.PathLike[str] | Writable,
    *,
    chunk_size: int = DEFAULT_CHUNK_SIZE,
    timeout: float | None = DEFAULT_DOWNLOAD_TIMEOUT,
    max_bytes: int = DEFAULT_MAX_BYTES,
) -> int:
    """Stream ``source``'s audio into ``destination``; return the number of bytes written.

    ``timeout`` (seconds, ``None`` for none; checked by the caller) bounds the whole download.
    """
    url, expected, audio_id = _source(source)
    size = _check_chunk_size(chunk_size)
    job = _Job(url, size, expected, check_int("max_bytes", max_bytes, minimum=1), audio_id)
    if isinstance(destination, (str, os.PathLike)):
        path = os.fspath(destination)
        if not isinstance(path, str):
            raise TypeError("destination must be a str path, a path object or a file object")
        work = _to_path(sender, job, path)
    elif not callable(getattr(destination, "write", None)):
        raise TypeError(
            "destination must be a path or a binary file object with write(), "
            f"got {type(destination).__name__}"
        )
    else:
        work = _fetch(sender, job, _ObjectSink(destination))
    with anyio.move_on_after(math.inf if timeout is None else timeout) as scope:
        return await work
    assert scope.cancelled_caught
    raise DownloadError(
        f"download of {_shown(url)} took longer than timeout={timeout:g}s",
        url=url,
        audio_id=audio_id,
    )


class _Job:
    """What one download is about: checked once, shared by its attempts."""

    __slots__ = ("audio_id", "chunk_size", "expected", "max_bytes", "url")

    def __init__(
        self, url: str, chunk_size: int, expected: int | None, max_bytes: int, audio_id: str | None
    ) -> None:
        self.url = url
        self.chunk_size = chunk_size
        self.expected = expected
        self.max_bytes = max_bytes
        self.audio_id = audio_id


def _open_temporary(path: str) -> tuple[IO[bytes], str]:
    """A new, empty file beside ``path``, created with the usual permissions (umask applies)."""
    if os.path.isdir(path):
        raise IsADirectoryError(
            errno.EISDIR, "the destination is a directory; name the file to write", path
        )
    directory, name = os.path.split(os.path.abspath(path))
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)
    while True:
        temporary = os.path.join(directory, f".{name}.{secrets.token_hex(4)}.part")
        try:
            descriptor = os.open(temporary, flags, 0o666)
        except FileExistsError:  # pragma: no cover - 32 random bits already taken
            continue
        return os.fdopen(descriptor, "wb"), temporary


def _flush(file: IO[bytes]) -> None:
    file.flush()
    os.fsync(file.fileno())


async def _to_path(sender: Sender, job: _Job, path: str) -> int:
    where = {"url": job.url, "audio_id": job.audio_id}
    try:
        file, temporary = await anyio.to_thread.run_sync(_open_temporary, path)
    except OSError as exc:
        raise _file_error(exc, f"write {path!r}", **where) from exc
    try:
        try:
            written = await _fetch(sender, job, _FileSink(file))
            try:
                await anyio.to_thread.run_sync(_flush, file)
            except OSError as exc:
                raise _file_error(exc, "flush the temporary file", **where) from exc
        finally:
            with contextlib.suppress(OSError):  # a failed flush is already reported
                file.close()
        try:
            await anyio.to_thread.run_sync(os.replace, temporary, path)
        except OSError as exc:
            raise _file_error(exc, f"move the file into place at {path!r}", **where) from exc
    except BaseException:
        # Also on cancellation: plain calls, since nothing can be awaited in a cancelled scope.
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise
    return written


async def _fetch(sender: Sender, job: _Job, sink: _Sink) -> int:
    """Stream the job's URL into ``sink``, retrying transient failures from the start."""
    url, expected, audio_id = job.url, job.expected, job.audio_id
    attempt = 0
    while True:
        try:
            written = await _attempt(sender, job, sink)
        except _Transient as failure:
            pause = sender.retry.pause(attempt, failure.retry_after, sender.rng)
            if pause is None or not sink.can_restart():
                raise failure.error from failure.error.__cause__
            attempt += 1
            log_retry(
                f"download of {_shown(url)}",
                failure.error,
                attempt,
                sender.retry.max_retries,
                pause,
            )
            await _timing.current().sleep(pause)
            await sink.restart()
            continue
        if expected is not None and written != expected:
            raise DownloadSizeError(
                f"download of {_shown(url)} got {written:,} bytes, but the job's file_size "
                f"is {expected:,}",
                expected=expected,
                received=written,
                url=url,
                audio_id=audio_id,
            )
        return written


async def _attempt(sender: Sender, job: _Job, sink: _Sink) -> int:
    url, audio_id = job.url, job.audio_id
    client = sender.client
    request = client.build_request(
        "GET", url, timeout=sender.timeout, headers={"Accept-Encoding": ACCEPT_ENCODING}
    )
    # Whatever defaults the client carries, the media host gets no credentials.
    request.headers.pop("Authorization", None)
    # A numeric timeout bounds each wait for data: the headers, then every chunk of the body.
    stall = sender.attempt_timeout
    written = 0
    sender.loop.check()
    try:
        async with sender.limiter:
            response = await _open(sender, request, job, stall)
            try:
                if not response.is_success:
                    error = DownloadError(
                        f"download of {_shown(url)} failed: HTTP {response.status_code} "
                        f"{response.reason_phrase}".rstrip(),
                        url=url,
                        status_code=response.status_code,
                        audio_id=audio_id,
                    )
                    if response.status_code in RETRY_STATUSES:
                        raise _Transient(error, parse_retry_after(response.headers))
                    raise error
                limit, source = _size_limit(response, job)
                inflater = Inflater.of(response, job.chunk_size)
                reader = RawReader(response, stall)
                try:
                    while True:
                        raw = await reader.read()
                        pieces = inflater.finish() if raw is None else inflater.feed(raw)
                        for piece in pieces:
                            if written + len(piece) > limit:
                                raise DownloadSizeError(
                                    f"download of {_shown(url)} went past {limit:,} bytes, the "
                                    f"{source}; stopped after {written + len(piece):,} bytes",
                                    expected=limit,
                                    received=written + len(piece),
                                    url=url,
                                    audio_id=audio_id,
                                )
                            await sink.write(piece)
                            written += len(piece)
                        if raw is None:
                            break
                finally:
                    await reader.aclose()
            finally:
                await response.aclose()
    except DownloadFileError as exc:
        if exc.url is None:  # raised by a sink, which does not know what it downloads
            exc.url = url
            exc.audio_id = audio_id
            exc.audio_ids = (audio_id,) if audio_id else ()
        raise
    except httpx.RequestError as exc:
        kind = "timed out" if isinstance(exc, httpx.TimeoutException) else "failed"
        error = DownloadError(
            f"download of {_shown(url)} {kind} after {written:,} bytes: "
            f"{type(exc).__name__}: {exc or 'connection error'}",
            url=url,
            audio_id=audio_id,
        )
        if not isinstance(exc, httpx.TransportError):  # a bad encoding
            raise error from exc
        error.__cause__ = exc
        raise _Transient(error) from exc
    return written


async def _open(
    sender: Sender, request: httpx.Request, job: _Job, stall: float | None
) -> httpx.Response:
    """Send ``request``, following at most :data:`MAX_REDIRECTS` http(s) redirects."""
    for hop in range(MAX_REDIRECTS + 1):
        with anyio.move_on_after(math.inf if stall is None else stall) as scope:
            response = await sender.client.send(
                request, stream=True, auth=None, follow_redirects=False
            )
        if scope.cancelled_caught:
            raise httpx.ReadTimeout(f"no answer within {stall:g}s", request=request)
        following = response.next_request
        if following is None:
            return response
        await response.aclose()
        if following.url.scheme not in ("http", "https"):
            raise DownloadError(
                f"download of {_shown(job.url)} was redirected to a {following.url.scheme}: URL; "
                "only http and https are followed",
                url=job.url,
                status_code=response.status_code,
                audio_id=job.audio_id,
            )
        if hop == MAX_REDIRECTS:
            raise DownloadError(
                f"download of {_shown(job.url)} was redirected more than {MAX_REDIRECTS} times",
                url=job.url,
                status_code=response.status_code,
                audio_id=job.audio_id,
            )
        following.headers.pop("Authorization", None)
        request = following
    raise AssertionError("unreachable")  # pragma: no cover


def _size_limit(response: httpx.Response, job: _Job) -> tuple[int, str]:
    """The most bytes the body may have, and where that figure comes from."""
    if job.expected is not None:
        return job.expected, "job's file_size"
    length = response.headers.get("content-length", "")
    # A Content-Length counts the encoded bytes: it bounds the decoded ones only without coding.
    if length.isdigit() and "content-encoding" not in response.headers:
        return int(length), "Content-Length"
    return job.max_bytes, "max_bytes cap"
