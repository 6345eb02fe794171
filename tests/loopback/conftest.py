"""Fixtures for black-box tests of the client against a real HTTP server on 127.0.0.1."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest

from .server import LoopbackServer
from .support import assert_no_token_in


@pytest.fixture(params=["asyncio", "trio"])
def anyio_backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


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
