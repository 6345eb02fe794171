"""The fake in-process: an httpx transport that hands each request to the fake's handler."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AbstractContextManager, nullcontext

import anyio
import anyio.lowlevel
import httpx

from ._handlers import Handler
from ._wire import FakeRequest, FakeResponse

__all__ = ["FakeTransport"]


class _DroppedBody(httpx.AsyncByteStream):
    """A body whose connection breaks before the first byte, like a peer that hung up."""

    def __init__(self, request: httpx.Request, expected: int) -> None:
        self._request = request
        self._expected = expected

    async def __aiter__(self) -> AsyncIterator[bytes]:
        await anyio.lowlevel.checkpoint()
        if self._expected >= 0:  # always: the condition only keeps this a generator for mypy
            raise httpx.RemoteProtocolError(
                "peer closed connection without sending complete message body "
                f"(received 0 bytes, expected {self._expected})",
                request=self._request,
            )
        yield b""  # pragma: no cover


class FakeTransport(httpx.AsyncBaseTransport):
    """Serves an ``httpx.AsyncClient`` from a fake, with no sockets.

    A response held back by a delay fault for longer than the request's read timeout ends, after
    the timeout, in ``httpx.ReadTimeout``, as it would over a socket.
    """

    def __init__(self, handler: Handler) -> None:
        self._handler = handler

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        """Answer ``request`` from the fake, in-process."""
        content = await request.aread()
        raw_path, _, query = request.url.raw_path.decode("ascii").partition("?")
        fake_request = FakeRequest(
            method=request.method,
            raw_path=raw_path,
            query_string=query,
            headers=tuple(request.headers.multi_items()),
            body=content,
        )
        timeout = request.extensions.get("timeout", {}).get("read")
        deadline: AbstractContextManager[object] = (
            anyio.fail_after(timeout) if timeout is not None else nullcontext()
        )
        try:
            with deadline:
                response = await self._handler.handle(fake_request)
        except TimeoutError:
            raise httpx.ReadTimeout("timed out", request=request) from None
        return _to_httpx(request, response)


def _to_httpx(request: httpx.Request, response: FakeResponse) -> httpx.Response:
    headers = list(response.headers)
    if response.drop:
        if not any(name.lower() == "content-length" for name, _ in headers):
            headers.append(("content-length", str(len(response.body))))
        return httpx.Response(
            response.status,
            headers=headers,
            stream=_DroppedBody(request, len(response.body)),
            request=request,
        )
    return httpx.Response(response.status, headers=headers, content=response.body, request=request)
