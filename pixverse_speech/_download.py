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
* The size is checked against the job's ``file_size`` when known.
* Transient failures (connection errors, timeouts, 408, 429, 5xx) are retried with the client's
  retry policy, honouring ``Retry-After``; a retry restarts the stream from the beginning, which a
  file object allows only when it is seekable (it is rewound and truncated) or nothing was
  written to it yet.
"""

from __future__ import annotations

import contextlib
import inspect
import logging
import os
import secrets
from collections.abc import AsyncIterator
from typing import IO, Protocol

import anyio
import anyio.to_thread
import httpx

from . import _timing
from ._exceptions import AudioNotAvailableError, DownloadError, DownloadSizeError
from ._http import Sender
from ._logs import log_retry
from ._models import Speech
from ._retry import RETRY_STATUSES, parse_retry_after

__all__ = ["DEFAULT_CHUNK_SIZE", "Writable", "download"]

logger = logging.getLogger("pixverse_speech")

DEFAULT_CHUNK_SIZE = 64 * 1024


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
        await anyio.to_thread.run_sync(self._truncate)

    def _truncate(self) -> None:
        self.file.seek(0)
        self.file.truncate()

    async def write(self, chunk: bytes) -> None:
        await anyio.to_thread.run_sync(self.file.write, chunk)


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
            self.target.seek(self.start)  # type: ignore[attr-defined]
            self.target.truncate()  # type: ignore[attr-defined]
        self.written = 0

    async def write(self, chunk: bytes) -> None:
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
    try:
        parsed = httpx.URL(url.strip())
    except httpx.InvalidURL:
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
) -> int:
    """Stream ``source``'s audio into ``destination``; return the number of bytes written."""
    url, expected, audio_id = _source(source)
    size = _check_chunk_size(chunk_size)
    if isinstance(destination, (str, os.PathLike)):
        path = os.fspath(destination)
        if not isinstance(path, str):
            raise TypeError("destination must be a str path, a path object or a file object")
        return await _to_path(sender, url, path, size, expected, audio_id)
    if not callable(getattr(destination, "write", None)):
        raise TypeError(
            "destination must be a path or a binary file object with write(), "
            f"got {type(destination).__name__}"
        )
    sink = _ObjectSink(destination)
    return await _fetch(sender, url, sink, size, expected, audio_id)


def _open_temporary(path: str) -> tuple[IO[bytes], str]:
    """A new, empty file beside ``path``, created with the usual permissions (umask applies)."""
    if os.path.isdir(path):
        raise IsADirectoryError(f"destination {path!r} is a directory; name the file to write")
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


async def _to_path(
    sender: Sender, url: str, path: str, chunk_size: int, expected: int | None, audio_id: str | None
) -> int:
    file, temporary = await anyio.to_thread.run_sync(_open_temporary, path)
    try:
        try:
            written = await _fetch(sender, url, _FileSink(file), chunk_size, expected, audio_id)
            await anyio.to_thread.run_sync(_flush, file)
        finally:
            file.close()
        await anyio.to_thread.run_sync(os.replace, temporary, path)
    except BaseException:
        # Also on cancellation: plain calls, since nothing can be awaited in a cancelled scope.
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise
    return written


async def _fetch(
    sender: Sender,
    url: str,
    sink: _Sink,
    chunk_size: int,
    expected: int | None,
    audio_id: str | None,
) -> int:
    """Stream ``url`` into ``sink``, retrying transient failures from the start."""
    attempt = 0
    while True:
        try:
            written = await _attempt(sender, url, sink, chunk_size, audio_id)
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


async def _attempt(
    sender: Sender, url: str, sink: _Sink, chunk_size: int, audio_id: str | None
) -> int:
    client = sender.client
    request = client.build_request("GET", url, timeout=sender.timeout)
    # Whatever defaults the client carries, the media host gets no credentials.
    request.headers.pop("Authorization", None)
    written = 0
    try:
        async with sender.limiter:
            response = await client.send(request, stream=True, auth=None, follow_redirects=True)
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
                chunks: AsyncIterator[bytes] = response.aiter_bytes(chunk_size)
                async for chunk in chunks:
                    await sink.write(chunk)
                    written += len(chunk)
            finally:
                await response.aclose()
    except httpx.RequestError as exc:
        kind = "timed out" if isinstance(exc, httpx.TimeoutException) else "failed"
        error = DownloadError(
            f"download of {_shown(url)} {kind} after {written:,} bytes: "
            f"{type(exc).__name__}: {exc or 'connection error'}",
            url=url,
            audio_id=audio_id,
        )
        if not isinstance(exc, httpx.TransportError):  # a bad encoding, too many redirects
            raise error from exc
        error.__cause__ = exc
        raise _Transient(error) from exc
    return written
