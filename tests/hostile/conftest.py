"""Fixtures of the hostile-server suite: backends and transports, a server factory, the token."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import anyio.lowlevel
import pytest

from pixverse_speech import AsyncSpeechAPI, _timing

from ._server import Handler, HostileServer

#: httpx's own transport under asyncio and trio, and the aiohttp one (asyncio only).
BACKENDS_AND_TRANSPORTS = [
    pytest.param(("asyncio", None), id="asyncio-httpx"),
    pytest.param(("trio", None), id="trio-httpx"),
    pytest.param(("asyncio", "aiohttp"), id="asyncio-aiohttp"),
]

#: A token shaped like the real ones; no 8 characters of its secret part may show anywhere.
SECRET = "HostileS3cretT0kenValue9x"
TOKEN = f"user:777-{SECRET}"


@pytest.fixture(params=BACKENDS_AND_TRANSPORTS)
def backend_and_transport(request: pytest.FixtureRequest) -> tuple[str, str | None]:
    backend, transport = request.param
    return backend, transport


@pytest.fixture
def anyio_backend(backend_and_transport: tuple[str, str | None]) -> str:
    return backend_and_transport[0]


@pytest.fixture
def transport(backend_and_transport: tuple[str, str | None]) -> str | None:
    return backend_and_transport[1]


class VirtualTiming:
    """The library's pauses (retries, polls) on a clock that moves only when it sleeps."""

    def __init__(self) -> None:
        self.time = 1_000.0

    def now(self) -> float:
        return self.time

    async def sleep(self, seconds: float) -> None:
        self.time += max(0.0, seconds)
        await anyio.lowlevel.checkpoint()


@pytest.fixture(autouse=True)
def virtual_pauses() -> Iterator[VirtualTiming]:
    virtual = VirtualTiming()
    with _timing.using(_timing.Timing(now=virtual.now, sleep=virtual.sleep)):
        yield virtual


@pytest.fixture
def serve() -> Iterator[Any]:
    """``serve(handler)``: a started hostile server; at teardown, no errors and no open sockets."""
    servers: list[HostileServer] = []

    def start(handler: Handler) -> HostileServer:
        server = HostileServer(handler)
        server.start()
        servers.append(server)
        return server

    yield start
    for server in servers:
        left_open = server.wait_for_no_open_connections()
        server.stop()
        assert not server.errors, f"server errors: {server.errors!r}"
        assert left_open == 0, "the client left connections open"


@pytest.fixture
def client(transport: str | None) -> Any:
    """``client(server, **options)``: a client of ``server`` on the test's transport."""

    def make(server: HostileServer, **kwargs: Any) -> AsyncSpeechAPI:
        kwargs.setdefault("token", TOKEN)
        kwargs.setdefault("max_retries", 0)
        kwargs.setdefault("transport", transport)
        return AsyncSpeechAPI(base_url=server.base_url, **kwargs)

    return make


def assert_no_token_in(text: str | bytes) -> None:
    data = text.encode("utf-8", "backslashreplace") if isinstance(text, str) else text
    for i in range(len(SECRET) - 7):
        assert SECRET[i : i + 8].encode() not in data, f"part of the token leaked: {text!r}"
