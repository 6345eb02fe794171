"""The fake as an ASGI 3 application, for uvicorn (``FakeSpeechAPI.serve``) or any ASGI server."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from ._handlers import Handler
from ._wire import FakeRequest

__all__ = ["ConnectionDropped", "FakeASGIApp"]

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]


class ConnectionDropped(Exception):
    """Raised by the ASGI app after a drop fault has sent the response head.

    An ASGI app cannot close its connection itself; raising once the response has started makes
    the server (uvicorn) abort the connection, which is the point.  ``serve()`` keeps uvicorn from
    logging it.
    """


class FakeASGIApp:
    """An ASGI 3 app answering from a fake's handler; ``lifespan`` is accepted and ignored."""

    def __init__(self, handler: Handler) -> None:
        self._handler = handler

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await _lifespan(receive, send)
            return
        if scope["type"] != "http":
            raise RuntimeError(f"the fake speech API serves HTTP only, not {scope['type']!r}")
        body = bytearray()
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            body += message.get("body", b"")
            if not message.get("more_body", False):
                break
        raw_path = scope.get("raw_path")
        path = raw_path.decode("latin-1") if raw_path else str(scope["path"])
        path = path.partition("?")[0]
        request = FakeRequest(
            method=str(scope["method"]),
            raw_path=path,
            query_string=bytes(scope.get("query_string", b"")).decode("latin-1"),
            headers=tuple(
                (bytes(k).decode("latin-1"), bytes(v).decode("latin-1"))
                for k, v in scope.get("headers", ())
            ),
            body=bytes(body),
        )
        response = await self._handler.handle(request)
        headers = [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in response.headers]
        if not any(k == b"content-length" for k, _ in headers):
            headers.append((b"content-length", str(len(response.body)).encode()))
        await send({"type": "http.response.start", "status": response.status, "headers": headers})
        if response.drop:
            raise ConnectionDropped("drop fault: response head sent, connection aborted")
        await send({"type": "http.response.body", "body": response.body, "more_body": False})


async def _lifespan(receive: Receive, send: Send) -> None:
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await send({"type": "lifespan.shutdown.complete"})
            return
