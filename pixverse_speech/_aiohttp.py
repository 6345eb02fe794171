"""An aiohttp-backed httpx transport, for asyncio applications that want more requests per second.

It is httpx-aiohttp's transport with one change that matters to us: its exceptions are re-mapped so
that an httpx ``ConnectError``/``ConnectTimeout`` really means "the request never left".  The
upstream maps every ``aiohttp.ClientConnectionError`` (a server that disconnected mid-answer among
them) to ``httpx.ConnectTimeout``, which would make a non-idempotent POST look safe to repeat.

Install with ``pip install 'pixverse-speech[aiohttp]'``; asyncio only (aiohttp has no trio support).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import aiohttp
import httpx
from httpx_aiohttp import AiohttpTransport as _UpstreamTransport

__all__ = ["AiohttpTransport"]


def translate(exc: BaseException) -> httpx.TransportError | None:
    """The httpx exception that tells the truth about an aiohttp failure, or ``None``."""
    message = str(exc) or type(exc).__name__
    if isinstance(exc, aiohttp.ClientConnectorError):
        return httpx.ConnectError(message)
    if isinstance(exc, aiohttp.ConnectionTimeoutError):
        return httpx.ConnectTimeout(message)
    if isinstance(exc, TimeoutError):  # socket read timeouts and total timeouts alike
        return httpx.ReadTimeout(message)
    if isinstance(exc, (aiohttp.ServerDisconnectedError, aiohttp.ClientResponseError)):
        return httpx.RemoteProtocolError(message)
    if isinstance(exc, (aiohttp.ClientPayloadError, aiohttp.ClientConnectionError)):
        return httpx.ReadError(message)
    if isinstance(exc, aiohttp.InvalidURL):
        return httpx.UnsupportedProtocol(message)
    return None


def _root(exc: BaseException) -> BaseException:
    if isinstance(exc, httpx.TransportError) and exc.__cause__ is not None:
        return exc.__cause__
    return exc


class _TranslatingStream(httpx.AsyncByteStream):
    def __init__(self, inner: httpx.AsyncByteStream) -> None:
        self._inner = inner

    async def __aiter__(self) -> AsyncIterator[bytes]:
        try:
            async for chunk in self._inner:
                yield chunk
        except (httpx.TransportError, aiohttp.ClientError, TimeoutError) as exc:
            root = _root(exc)
            raise (translate(root) or exc) from root

    async def aclose(self) -> None:
        await self._inner.aclose()


class AiohttpTransport(_UpstreamTransport):
    """httpx-aiohttp's transport with truthful exceptions; refuses to run outside asyncio."""

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            raise RuntimeError(
                "the aiohttp transport runs on asyncio only; use the default transport"
            ) from None
        try:
            response = await super().handle_async_request(request)
        except (httpx.TransportError, aiohttp.ClientError, TimeoutError) as exc:
            root = _root(exc)
            translated = translate(root)
            if translated is None:
                raise
            raise translated from root
        stream = response.stream
        assert isinstance(stream, httpx.AsyncByteStream)
        response.stream = _TranslatingStream(stream)
        return response
