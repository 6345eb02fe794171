"""Fixtures of the decoding tests: both backends, virtual time, respx routes, the log."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Iterator

import anyio.lowlevel
import httpx
import pytest
import respx

from pixverse_speech import AsyncSpeechAPI, _timing

BASE_URL = "https://api.useapi.net/v2/"
TOKEN = "user:12345-s3cr3tT0kenValue9876"


@pytest.fixture(params=["asyncio", "trio"])
def anyio_backend(request: pytest.FixtureRequest) -> str:
    """Every async test runs under asyncio and trio."""
    return str(request.param)


@pytest.fixture(autouse=True)
def virtual_time() -> Iterator[None]:
    """The library's pauses take no real time: a clock that moves only when it sleeps."""
    now = [1_000.0]

    async def sleep(seconds: float) -> None:
        now[0] += max(0.0, seconds)
        await anyio.lowlevel.checkpoint()

    with _timing.using(_timing.Timing(now=lambda: now[0], sleep=sleep)):
        yield


@pytest.fixture
def router() -> Iterator[respx.MockRouter]:
    """respx routes relative to the API root; a request no route matches fails the test."""
    with respx.mock(base_url=BASE_URL, assert_all_called=False) as mock:
        yield mock


@pytest.fixture
async def api(router: respx.MockRouter) -> AsyncIterator[AsyncSpeechAPI]:
    """A client of the mocked API."""
    async with httpx.AsyncClient() as http, AsyncSpeechAPI(TOKEN, http_client=http) as client:
        yield client


class LogWarnings(logging.Handler):
    """The WARNING lines the library logs."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(record.getMessage())


@pytest.fixture
def warnings_logged() -> Iterator[LogWarnings]:
    """The library's WARNING lines; none may contain the token."""
    logger = logging.getLogger("pixverse_speech")
    handler = LogWarnings()
    logger.addHandler(handler)
    try:
        yield handler
    finally:
        logger.removeHandler(handler)
    assert not [line for line in handler.lines if TOKEN in line]
