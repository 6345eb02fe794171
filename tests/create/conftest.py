"""Fixtures of the create/generate/voices/models/download tests: respx, virtual time, a server."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Iterator
from typing import Any

import anyio.lowlevel
import httpx
import pytest
import respx

from pixverse_speech import AsyncSpeechAPI, _timing

from ._server import StdlibServer

BASE_URL = "https://api.useapi.net/v2/"
TOKEN = "user:12345-s3cr3tT0kenValue9876"
AUDIO_ID = "user:12345-pixverse:me@example.com-speech:11223344"
MEDIA_URL = "https://media.pixverse.ai/pixverse/audio/speech/11223344.mp3"


@pytest.fixture(params=["asyncio", "trio"])
def anyio_backend(request: pytest.FixtureRequest) -> str:
    """Every async test runs under asyncio and under trio."""
    return str(request.param)


class VirtualTiming:
    """A clock that moves only when the library sleeps, and a record of every sleep."""

    def __init__(self, start: float = 1_000.0) -> None:
        self.time = start
        self.sleeps: list[float] = []

    def now(self) -> float:
        return self.time

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.time += max(0.0, seconds)
        await anyio.lowlevel.checkpoint()


@pytest.fixture(autouse=True)
def clock() -> Iterator[VirtualTiming]:
    """Every test runs on virtual time: no pause of the library waits on the wall clock."""
    virtual = VirtualTiming()
    with _timing.using(_timing.Timing(now=virtual.now, sleep=virtual.sleep)):
        yield virtual


@pytest.fixture(autouse=True)
def _no_token_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("USEAPI_TOKEN", raising=False)


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


class Wire:
    """Builders of what the API sends (a fixture, since conftest modules are not importable)."""

    BASE_URL = BASE_URL
    TOKEN = TOKEN
    AUDIO_ID = AUDIO_ID
    MEDIA_URL = MEDIA_URL

    @staticmethod
    def record(status: int | None = 1, audio_id: str = AUDIO_ID, **fields: Any) -> dict[str, Any]:
        """A speech record; ``status`` picks the documented status fields."""
        names = {1: "COMPLETED", 5: "QUEUED", 8: "FAILED", 10: "GENERATING"}
        body: dict[str, Any] = {"audio_id": audio_id}
        if status is not None:
            body["audio_status"] = status
            body["audio_status_name"] = names[status]
            body["audio_status_final"] = status in (1, 8)
        if status == 1:
            body["url"] = MEDIA_URL
        if status == 8:
            body["fail_code"] = "500043"
            body["fail_reason"] = "upstream TTS error"
        body.update(fields)
        return body

    @staticmethod
    def ok(body: Any) -> httpx.Response:
        return httpx.Response(200, json=body)

    @staticmethod
    def error(status: int, message: str = "boom", **headers: str) -> httpx.Response:
        return httpx.Response(status, json={"error": message, "code": status}, headers=headers)


@pytest.fixture
def wire() -> type[Wire]:
    """Builders of API responses, and the test token, id and media URL."""
    return Wire
