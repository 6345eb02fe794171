"""Fixtures of the create/generate/voices/models/download tests: respx, virtual time, a server."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
import respx

from pixverse_speech import AsyncSpeechAPI

from ._server import StdlibServer

BASE_URL = "https://api.useapi.net/v2/"
TOKEN = "user:12345-s3cr3tT0kenValue9876"
AUDIO_ID = "user:12345-pixverse:me@example.com-speech:11223344"
MEDIA_URL = "https://media.pixverse.ai/pixverse/audio/speech/11223344.mp3"


@pytest.fixture(autouse=True)
def clock(virtual_timing: Any) -> Any:
    """Every test runs on virtual time (the root conftest's ``VirtualTiming``)."""
    return virtual_timing


class _Collect(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


@pytest.fixture(autouse=True)
def log_lines() -> Iterator[list[str]]:
    """Every line the library logs; none may contain the token."""
    logger = logging.getLogger("pixverse_speech")
    handler = _Collect()
    previous = logger.level
    logger.setLevel(logging.DEBUG)
    logger.addHandler(handler)
    try:
        yield handler.messages
    finally:
        logger.removeHandler(handler)
        logger.setLevel(previous)
    assert not [line for line in handler.messages if TOKEN in line]


@pytest.fixture
def router() -> Iterator[respx.MockRouter]:
    """respx routes relative to the API root; a request no route matches fails the test."""
    with respx.mock(base_url=BASE_URL, assert_all_called=False) as mock:
        yield mock


@pytest.fixture
async def api(router: respx.MockRouter) -> AsyncIterator[AsyncSpeechAPI]:
    """A client with the default retry policy (3 retries), closed after the test."""
    async with AsyncSpeechAPI(TOKEN) as client:
        yield client


@pytest.fixture
def server() -> Iterator[StdlibServer]:
    """A real HTTP/1.1 server on 127.0.0.1, stopped after the test."""
    srv = StdlibServer()
    srv.start()
    try:
        yield srv
    finally:
        srv.stop()
    assert not srv.errors, srv.errors
