"""Reading response bodies within bounds: of size after decompression, and of time.

httpx undoes ``Content-Encoding`` one network read at a time, and a single 64 KiB read of a gzip
bomb inflates to some 64 MB before any check can look at it.  So the library reads the raw bytes
itself and inflates them here, in steps of at most ``step`` bytes of output, counting as it goes:
memory stays at the cap plus one step however well the body compresses.

Only what the library asks for (``Accept-Encoding: gzip, deflate``, :data:`ACCEPT_ENCODING`) is
undone; any other coding is passed through as it is, as httpx does with one it cannot decode.
"""

from __future__ import annotations

import math
import zlib
from collections.abc import Iterator

import anyio
import httpx

__all__ = [
    "ACCEPT_ENCODING",
    "DEFAULT_MAX_RESPONSE_BYTES",
    "AttemptTimeout",
    "Inflater",
    "RawReader",
    "read_capped",
    "text_of",
]

#: The codings the library asks for, and so must undo: both with zlib, in bounded steps.
ACCEPT_ENCODING = "gzip, deflate"

#: The default cap on an API (JSON) response, counted after decompression.
DEFAULT_MAX_RESPONSE_BYTES = 16 * 1024 * 1024

_STEP = 64 * 1024


class AttemptTimeout(httpx.TimeoutException):
    """A whole attempt (connect, send, headers and body) outlasted its limit.

    An ``httpx.TimeoutException`` so that the retry rules treat it as any other timeout: a GET is
    retried, a create that may have been sent is not.
    """


class _Zlib:
    """gzip or deflate, inflated at most ``step`` bytes at a time."""

    def __init__(self, coding: str) -> None:
        # "deflate" is meant to be zlib-wrapped, but some servers send it raw: try the wrapped
        # form first and fall back to raw on the first error, as httpx does.
        self._fallback = coding == "deflate"
        wbits = zlib.MAX_WBITS | 16 if coding == "gzip" else zlib.MAX_WBITS
        self._inflate = zlib.decompressobj(wbits)
        self._started = False

    def feed(self, data: bytes, step: int) -> Iterator[bytes]:
        while not self._inflate.eof:
            try:
                out = self._inflate.decompress(data, step)
            except zlib.error as exc:
                if self._fallback and not self._started:
                    self._fallback = False
                    self._inflate = zlib.decompressobj(-zlib.MAX_WBITS)
                    continue
                raise httpx.DecodingError(f"the body could not be inflated: {exc}") from exc
            self._started = True
            data = self._inflate.unconsumed_tail
            if out:
                yield out
            # A full step may leave output pending inside zlib even with no input left.
            if not data and len(out) < step:
                return

    def finish(self, step: int) -> Iterator[bytes]:
        yield from self.feed(b"", step)


class _Identity:
    def feed(self, data: bytes, step: int) -> Iterator[bytes]:
        for start in range(0, len(data), step):
            yield data[start : start + step]

    def finish(self, step: int) -> Iterator[bytes]:
        return iter(())


class Inflater:
    """Undoes a ``Content-Encoding`` (one coding or several) in steps of at most ``step`` bytes."""

    def __init__(self, codings: list[str], step: int = _STEP) -> None:
        self._step = step
        # Codings are listed in the order they were applied: undo the last first.
        stages: list[_Zlib | _Identity] = [
            _Zlib(coding)
            for coding in reversed([c.strip().lower() for c in codings])
            if coding in ("gzip", "deflate")
        ]
        self._stages = stages or [_Identity()]

    @classmethod
    def of(cls, response: httpx.Response, step: int = _STEP) -> Inflater:
        return cls(response.headers.get_list("content-encoding", split_commas=True), step)

    def feed(self, data: bytes) -> Iterator[bytes]:
        """The decoded bytes of ``data``, one bounded piece at a time (lazily: stop any time)."""
        return self._through(0, data)

    def finish(self) -> Iterator[bytes]:
        """What the decoders still hold once the raw body has ended."""
        for index, stage in enumerate(self._stages):
            for piece in stage.finish(self._step):
                yield from self._through(index + 1, piece)

    def _through(self, index: int, data: bytes) -> Iterator[bytes]:
        if index == len(self._stages):
            yield data
            return
        for piece in self._stages[index].feed(data, self._step):
            yield from self._through(index + 1, piece)


class RawReader:
    """A response's raw (still encoded) body, one network read at a time.

    ``stall`` (seconds) bounds each read: a body that stops arriving for longer raises
    ``httpx.ReadTimeout``, whatever the transport does about read timeouts.
    """

    def __init__(self, response: httpx.Response, stall: float | None = None) -> None:
        stream = response.stream
        if not isinstance(stream, httpx.AsyncByteStream):
            raise TypeError("the response has no async stream")
        self._response = response
        self._chunks = stream.__aiter__()
        self._stall = math.inf if stall is None else stall
        self._done = False

    async def aclose(self) -> None:
        """Close the response; then run its stream's generators to their end.

        Every layer of a response stream (httpx's, httpcore's) is an async generator.  Left
        suspended when reading stops early, they would be finalised by the garbage collector
        (trio warns about each); resumed once the connection is closed, they end at once.
        """
        await self._response.aclose()
        for _ in range(3):
            if self._done:
                return
            try:
                await self._chunks.__anext__()
            except StopAsyncIteration:
                self._done = True
            except Exception:  # the closed stream's error: it has ended all the same
                self._done = True

    async def read(self) -> bytes | None:
        """The next raw bytes, or ``None`` at the end of the body."""
        if self._stall == math.inf:
            # No scope: an API call's read is bounded by its attempt's scope, and a cancel
            # scope per read is a measurable share of a small request's CPU.
            return await self._next()
        with anyio.move_on_after(self._stall) as scope:
            return await self._next()
        assert scope.cancelled_caught
        raise httpx.ReadTimeout(f"no data arrived for {self._stall:g}s")

    async def _next(self) -> bytes | None:
        try:
            return await self._chunks.__anext__()
        except StopAsyncIteration:
            self._done = True
            return None
        except BaseException:
            self._done = True  # an exception out of a generator ends it
            raise


async def read_capped(response: httpx.Response, limit: int) -> tuple[bytes, bool]:
    """The decoded body and ``True``; or ``b""`` and ``False`` once it goes past ``limit`` bytes."""
    inflater = Inflater.of(response)
    reader = RawReader(response)
    try:
        return await _read_capped(reader, inflater, limit)
    finally:
        await reader.aclose()


async def _read_capped(reader: RawReader, inflater: Inflater, limit: int) -> tuple[bytes, bool]:
    body = bytearray()

    def take(pieces: Iterator[bytes]) -> bool:
        for piece in pieces:
            if len(body) + len(piece) > limit:
                return False
            body.extend(piece)
        return True

    while (raw := await reader.read()) is not None:
        if not take(inflater.feed(raw)):
            return b"", False
    if not take(inflater.finish()):
        return b"", False
    return bytes(body), True


def text_of(response: httpx.Response, content: bytes) -> str:
    """``content`` as text, in the response's charset (UTF-8 when it names none or a bad one)."""
    try:
        return content.decode(response.charset_encoding or "utf-8", errors="replace")
    except LookupError:
        return content.decode("utf-8", errors="replace")
