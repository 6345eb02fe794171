"""Fixtures for black-box tests of the client against a real HTTP server on 127.0.0.1."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest

from . import support
from .server import LoopbackServer
from .support import assert_no_token_in

#: Every loopback test runs on each of these: httpx's own transport under asyncio and trio, and the
#: aiohttp-backed one (``transport="aiohttp"``) under asyncio.  aiohttp has no trio support, so that
#: pair is not in the list (``tests/perf/test_aiohttp_transport.py`` checks the error it gives).
BACKENDS_AND_TRANSPORTS = [
    pytest.param(("asyncio", None), id="asyncio-httpx"),
    pytest.param(("trio", None), id="trio-httpx"),
    pytest.param(("asyncio", "aiohttp"), id="asyncio-aiohttp"),
]


@pytest.fixture(params=BACKENDS_AND_TRANSPORTS)
def backend_and_transport(request: pytest.FixtureRequest) -> tuple[str, str | None]:
    backend, transport = request.param
    return backend, transport


@pytest.fixture
def anyio_backend(backend_and_transport: tuple[str, str | None]) -> str:
    return backend_and_transport[0]


@pytest.fixture(autouse=True)
def transport(
    backend_and_transport: tuple[str, str | None], monkeypatch: pytest.MonkeyPatch
) -> str | None:
    """The ``transport`` every client made by ``support.client()`` gets (``None``: httpx's)."""
    name = backend_and_transport[1]
    monkeypatch.setattr(support, "TRANSPORT", name)
    return name


@pytest.fixture
def server() -> Iterator[LoopbackServer]:
    """A started loopback server; by teardown the client must have closed every connection."""
    srv = LoopbackServer()
    srv.start()
    try:
        yield srv
        left_open = srv.wait_for_no_open_connections(timeout=3.0)
    finally:
        stuck = srv.stop(timeout=5.0)
    assert not srv.errors, f"server errors: {srv.errors!r}"
    assert not stuck, f"server threads did not stop: {stuck}"
    assert not srv.unscripted, f"unscripted requests: {[r.target for r in srv.unscripted]}"
    assert left_open == 0, "the client left connections open after the test"


class _Collect(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))


@pytest.fixture(autouse=True)
def no_token_in_logs() -> Iterator[_Collect]:
    """Every record the library logs, at every level, is checked for the token."""
    logger = logging.getLogger("pixverse_speech")
    handler = _Collect()
    handler.setFormatter(logging.Formatter("%(levelname)s %(message)s"))
    previous = logger.level
    logger.setLevel(logging.DEBUG)
    logger.addHandler(handler)
    try:
        yield handler
    finally:
        logger.removeHandler(handler)
        logger.setLevel(previous)
    for line in handler.lines:
        assert_no_token_in(line)
