"""``hub.app``: the ASGI 3 application that receives the API's callbacks.

It answers at once, from what the request itself carries, and never waits for a GET: checking
the job is the waiting client's business (see ``WebhookHub``), on its own event loop.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from ._signing import Signer, read_query

__all__ = ["MAX_BODY", "WebhookApp"]

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

#: The largest callback body read; a job record is about a kilobyte.
MAX_BODY = 1 << 20

_OK = b'{"ok":true}'


class WebhookApp:
    """Receives callbacks: 401 unsigned (with a secret), 400 malformed, else 200.

    :param path: the hub URL's path, without a trailing slash (``""`` for the root).
    :param received: called with the ``audio_id`` of each accepted callback; must not block.
    """

    def __init__(
        self, *, path: str, signer: Signer | None, received: Callable[[str], None]
    ) -> None:
        self._path = path
        self._signer = signer
        self._received = received

    def __repr__(self) -> str:
        return f"<WebhookApp path={self._path or '/'!r}>"

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        kind = scope["type"]
        if kind == "lifespan":
            await _lifespan(receive, send)
            return
        if kind == "websocket":
            await send({"type": "websocket.close", "code": 1003})
            return
        if kind != "http":
            raise RuntimeError(f"the webhook app serves HTTP only, not {kind!r}")
        if not self._routes_here(scope):
            await _answer(send, 404, {"error": "not found"})
            return
        if str(scope["method"]).upper() != "POST":
            await _answer(send, 405, {"error": "method not allowed"}, allow=True)
            return
        if self._signer is not None:
            ref, signature, ambiguous = read_query(bytes(scope.get("query_string", b"")))
            if ambiguous or not self._signer.verify(self._path, ref, signature):
                # Nothing else happens: the body is not even read.
                await _answer(send, 401, {"error": "missing or bad signature"})
                return
        body = await _read_body(receive)
        if body is None:
            return  # the caller went away
        audio_id = _audio_id(body)
        if audio_id is None:
            await _answer(send, 400, {"error": "expected a JSON object with a string audio_id"})
            return
        self._received(audio_id)
        await _send(send, 200, _OK)

    def _routes_here(self, scope: Scope) -> bool:
        """Whether the request is for the hub: its URL's path or below, however it is served."""
        path = str(scope.get("path") or "/")
        root = str(scope.get("root_path") or "").rstrip("/")
        # ASGI says ``path`` includes ``root_path``; some older mounts strip it: put it back.
        if root and not (path == root or path.startswith(root + "/")):
            path = root + (path if path.startswith("/") else "/" + path)
        base = self._path
        if not base or path == base or path.startswith(base + "/"):
            return True
        # A framework mounted the app at another path (a proxy strips a prefix, say) and
        # routed this request here: it is the hub's.
        return bool(root) and (path == root or path.startswith(root + "/"))


def _audio_id(body: bytes) -> str | None:
    try:
        record = json.loads(body)
    except (ValueError, RecursionError):
        return None
    if not isinstance(record, dict):
        return None
    audio_id = record.get("audio_id")
    if not isinstance(audio_id, str) or not audio_id.strip():
        return None
    return audio_id


async def _read_body(receive: Receive) -> bytes | None:
    """The request body; ``b""`` past :data:`MAX_BODY` (a 400 follows); ``None``: disconnected."""
    body = bytearray()
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return None
        body += message.get("body", b"")
        if len(body) > MAX_BODY:
            return b""
        if not message.get("more_body", False):
            return bytes(body)


async def _answer(send: Send, status: int, body: dict[str, str], *, allow: bool = False) -> None:
    await _send(send, status, json.dumps(body).encode(), allow=allow)


async def _send(send: Send, status: int, body: bytes, *, allow: bool = False) -> None:
    headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode()),
    ]
    if allow:
        headers.append((b"allow", b"POST"))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body, "more_body": False})


async def _lifespan(receive: Receive, send: Send) -> None:
    # Accepted and ignored: ``async with hub`` is the hub's whole lifecycle.
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await send({"type": "lifespan.shutdown.complete"})
            return
