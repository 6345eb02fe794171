"""Fixtures of the core client's unit tests: respx routes, virtual time, sample records."""

from __future__ import annotations

import ssl
from collections.abc import AsyncIterator, Iterator
from typing import Any

import anyio
import anyio.lowlevel
import httpx
import pytest
import respx
import trio.testing

from pixverse_speech import AsyncSpeechAPI, _timing

BASE_URL = "https://api.useapi.net/v2/"
TOKEN = "user:12345-s3cr3tT0kenValue9876"
AUDIO_ID = "user:12345-pixverse:me@example.com-speech:11223344"


@pytest.fixture(params=["asyncio", "trio"])
def anyio_backend(request: pytest.FixtureRequest) -> object:
    """Every async test runs under asyncio and trio.

    A test that needs trio's virtual clock overrides this with
    ``@pytest.mark.parametrize("anyio_backend", ["trio-virtual"], indirect=True)``.
    """
    if request.param == "trio-virtual":
        return ("trio", {"clock": trio.testing.MockClock(autojump_threshold=0)})
    return request.param


class VirtualTiming:
    """A clock that only moves when the library sleeps, and a record of every sleep."""

    def __init__(self, start: float = 1_000.0) -> None:
        self.start = start
        self.time = start
        self.sleeps: list[float] = []

    def now(self) -> float:
        return self.time

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.time += max(0.0, seconds)
        await anyio.lowlevel.checkpoint()

    @property
    def elapsed(self) -> float:
        return self.time - self.start


@pytest.fixture(autouse=True)
def clock() -> Iterator[VirtualTiming]:
    """Every test runs on virtual time: no pause of the library ever waits on the wall clock."""
    virtual = VirtualTiming()
    with _timing.using(_timing.Timing(now=virtual.now, sleep=virtual.sleep)):
        yield virtual


@pytest.fixture
def real_timing(clock: VirtualTiming) -> Iterator[None]:
    """The library's own timing (the event loop's clock and ``anyio.sleep``), for tests that run
    on trio's virtual clock or that cancel a real pause."""
    with _timing.using(_timing.Timing()):
        yield


@pytest.fixture
def router() -> Iterator[respx.MockRouter]:
    """respx routes relative to the API root; a request no route matches fails the test."""
    with respx.mock(base_url=BASE_URL, assert_all_called=False) as mock:
        yield mock


@pytest.fixture(autouse=True)
def _no_token_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("USEAPI_TOKEN", raising=False)


@pytest.fixture(scope="session")
def ssl_context() -> ssl.SSLContext:
    """One TLS context for the suite: loading the CA bundle for every client costs ~30 ms."""
    return httpx.create_ssl_context()


@pytest.fixture
async def api(
    router: respx.MockRouter, ssl_context: ssl.SSLContext
) -> AsyncIterator[AsyncSpeechAPI]:
    """A client with the default retry policy over a shared-style http_client, closed after the
    test (tests of the client's own pool construct ``AsyncSpeechAPI`` themselves)."""
    async with (
        httpx.AsyncClient(verify=ssl_context) as http,
        AsyncSpeechAPI(TOKEN, http_client=http) as client,
    ):
        yield client


@pytest.fixture
async def api0(
    router: respx.MockRouter, ssl_context: ssl.SSLContext
) -> AsyncIterator[AsyncSpeechAPI]:
    """A client that never retries, so that one route call is one attempt."""
    async with (
        httpx.AsyncClient(verify=ssl_context) as http,
        AsyncSpeechAPI(TOKEN, max_retries=0, http_client=http) as client,
    ):
        yield client


class Wire:
    """What the API sends, for tests to build responses from (a fixture: test modules cannot
    import a conftest reliably when several test directories have one)."""

    BASE_URL = BASE_URL
    TOKEN = TOKEN
    AUDIO_ID = AUDIO_ID

    @staticmethod
    def record(status: int | None = 1, audio_id: str = AUDIO_ID, **fields: Any) -> dict[str, Any]:
        """A speech record as the API sends it; ``status`` picks the documented status fields."""
        names = {1: "COMPLETED", 5: "QUEUED", 8: "FAILED", 10: "GENERATING"}
        body: dict[str, Any] = {"audio_id": audio_id}
        if status is not None:
            body["audio_status"] = status
            if status in names:
                body["audio_status_name"] = names[status]
                body["audio_status_final"] = status in (1, 8)
        if status == 1:
            body["url"] = "https://media.pixverse.ai/pixverse/audio/speech/11223344.mp3"
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
    """Builders of API responses and the test token/id."""
    return Wire
