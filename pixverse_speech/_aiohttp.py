"""An aiohttp-backed httpx transport, for asyncio applications that want more requests per second.

It builds on httpx-aiohttp's transport (its options, session and connector) and changes what makes
it behave like httpx's own transport, which the loopback suite checks on both:

* exceptions are re-mapped so that an httpx ``ConnectError``/``ConnectTimeout`` really means "the
  request never left".  The upstream maps every ``aiohttp.ClientConnectionError`` (a server that
  disconnected mid-answer among them) to ``httpx.ConnectTimeout``, which would make a
  non-idempotent POST look safe to repeat;
* the URL goes out exactly as httpx encoded it (yarl would turn an id ``%2E%2E`` back into ``..``
  and resolve it);
* aiohttp's silent second try of a GET on a broken connection is off: ``max_retries`` counts them.

Install with ``pip install 'pixverse-speech[aiohttp]'``; asyncio only (aiohttp has no trio support).
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import httpx
import yarl
from httpx_aiohttp import AiohttpTransport as _UpstreamTransport

from ._requests import READ_EAGERLY

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


class _ResponseStream(httpx.AsyncByteStream):
    """An aiohttp response body as an httpx stream, with aiohttp's errors translated."""

    CHUNK_SIZE = 64 * 1024

    def __init__(self, response: aiohttp.ClientResponse) -> None:
        self._response = response

    async def __aiter__(self) -> AsyncIterator[bytes]:
        try:
            async for chunk in self._response.content.iter_chunked(self.CHUNK_SIZE):
                yield chunk
        except (aiohttp.ClientError, TimeoutError) as exc:
            translated = translate(exc)
            if translated is None:
                raise
            raise translated from exc

    async def aclose(self) -> None:
        # Hands a fully read connection back to the pool; closes one that is not.
        self._response.release()
        await self._response.wait_for_close()


class _ReadStream(httpx.AsyncByteStream):
    """A body already read, handed over raw.

    Not ``content=``/``httpx.ByteStream``: httpx decodes those whole at once, so a small gzip
    bomb would be inflated in one go, past any cap (``_body`` inflates in bounded steps).
    """

    def __init__(self, body: bytes) -> None:
        self._body = body

    async def __aiter__(self) -> AsyncIterator[bytes]:
        yield self._body


#: Bodies up to this size (with a Content-Length) are read before the response is returned.
EAGER_BODY_LIMIT = 256 * 1024


@functools.lru_cache(maxsize=16)
def _client_timeout(
    connect: float | None, read: float | None, pool: float | None
) -> aiohttp.ClientTimeout:
    # One per distinct timeout (a client has one or two), not one per request.
    return aiohttp.ClientTimeout(sock_connect=connect, sock_read=read, connect=pool)


class AiohttpTransport(_UpstreamTransport):
    """httpx-aiohttp's transport with truthful exceptions; refuses to run outside asyncio.

    Besides the exception mapping, two differences from the upstream keep it behaving like httpx's
    own transport: the URL is sent exactly as httpx encoded it (the upstream hands aiohttp a
    string, which yarl normalizes: an id ``..``, sent as ``%2E%2E``, would climb out of its path
    segment), and aiohttp's hidden second try of a GET on a broken connection is off.
    """

    def get_client(self) -> aiohttp.ClientSession:
        session = super().get_client()
        # aiohttp silently sends an idempotent request a second time when the connection breaks
        # (even a fresh one).  Retries are the client's business (``max_retries``, counted and
        # logged), as with httpx's own transport; aiohttp's own test client turns this off the
        # same way, there being no public switch (aio-libs/aiohttp#10790).
        if hasattr(session, "_retry_connection"):
            session._retry_connection = False
        return session

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            raise RuntimeError(
                "the aiohttp transport runs on asyncio only (aiohttp does not support trio); "
                "use the default transport (transport=None) under trio"
            ) from None
        if not isinstance(self.client, aiohttp.ClientSession):
            self.client = self.get_client()
        timeout = request.extensions.get("timeout", {})
        data: bytes | httpx.AsyncByteStream | None
        try:
            data = request.content or None
        except httpx.RequestNotRead:
            stream = request.stream
            assert isinstance(stream, httpx.AsyncByteStream)
            if isinstance(stream, httpx.ByteStream):
                # Bytes in a stream, as httpx gives a redirected request: sent as a stream,
                # aiohttp would frame them chunked, giving a GET a body ("0\r\n\r\n") that
                # desynchronises a kept-alive connection.
                data = b"".join([chunk async for chunk in stream]) or None
            else:
                data = stream
            request.headers.pop("transfer-encoding", None)  # aiohttp frames the body itself
        proxy = self.proxy
        headers = request.headers
        encoding = headers.encoding
        try:
            response = await self.client.request(
                request.method,
                # As httpx encoded it: a string would be re-normalized by yarl.
                yarl.URL(str(request.url), encoded=True),
                # As str pairs decoded as httpx would: aiohttp reading httpx.Headers through
                # its mapping interface decodes each header several times.
                headers=[(k.decode(encoding), v.decode(encoding)) for k, v in headers.raw],
                data=data,
                allow_redirects=False,
                auto_decompress=False,
                compress=False,
                timeout=_client_timeout(
                    timeout.get("connect"), timeout.get("read"), timeout.get("pool")
                ),
                server_hostname=request.extensions.get("sni_hostname"),
                proxy=str(proxy.url) if proxy else None,
                proxy_auth=aiohttp.BasicAuth(*proxy.auth) if proxy and proxy.auth else None,
                proxy_headers=proxy.headers if proxy else None,
            )
            body: bytes | None = None
            length = response.content_length
            if (
                length is not None
                and length <= EAGER_BODY_LIMIT
                and request.extensions.get(READ_EAGERLY)
            ):
                # A small body (every API answer) is read here, in one await: streaming it
                # through httpx's async iterators costs more CPU than the read itself.
                body = await response.read()
                response.release()
        except (aiohttp.ClientError, TimeoutError) as exc:
            translated = translate(exc)
            if translated is None:
                raise
            raise translated from exc
        extensions: dict[str, Any] = {"http_version": b"HTTP/1.1"}
        if response.reason:
            extensions["reason_phrase"] = response.reason.encode()
        return httpx.Response(
            status_code=response.status,
            headers=response.raw_headers,
            stream=_ResponseStream(response) if body is None else _ReadStream(body),
            request=request,
            extensions=extensions,
        )
