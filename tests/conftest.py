"""Fixtures every test directory shares: backends, timing hygiene, virtual time, wire builders.

Test modules cannot import a conftest reliably (several directories have one), so what tests
build with is handed out as fixtures: ``virtual_timing`` (a :class:`VirtualTiming`, installed),
``wire`` (the :class:`Wire` builders) and ``trio_clock_fake`` (a fake API on trio's mock clock).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import anyio
import anyio.lowlevel
import httpx
import pytest
import trio
import trio.testing

from pixverse_speech import _timing
from pixverse_speech.testing import FakeSpeechAPI

BASE_URL = "https://api.useapi.net/v2/"
TOKEN = "user:12345-s3cr3tT0kenValue9876"
AUDIO_ID = "user:12345-pixverse:me@example.com-speech:11223344"
MEDIA_URL = "https://media.pixverse.ai/pixverse/audio/speech/11223344.mp3"


@pytest.fixture(params=["asyncio", "trio"])
def anyio_backend(request: pytest.FixtureRequest) -> object:
    """Every async test runs under asyncio and trio.

    A test that needs trio's virtual clock overrides this with
    ``@pytest.mark.parametrize("anyio_backend", ["trio-virtual"], indirect=True)``: trio on a
    ``MockClock`` that jumps to the next deadline as soon as every task is blocked.
    """
    if request.param == "trio-virtual":
        return ("trio", {"clock": trio.testing.MockClock(autojump_threshold=0)})
    return request.param


@pytest.fixture(autouse=True)
def _timing_restored() -> Iterator[None]:
    """No test leaks a timing switch into the next one."""
    before = _timing.current()
    yield
    after = _timing.current()
    _timing.install(before)
    assert after is before, "a test left a timing installed"


@pytest.fixture(autouse=True)
def _no_token_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """No test depends on the USEAPI_TOKEN of whoever runs the suite."""
    monkeypatch.delenv("USEAPI_TOKEN", raising=False)


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


@pytest.fixture
def virtual_timing() -> Iterator[VirtualTiming]:
    """A :class:`VirtualTiming` in force for the test: no library pause waits on the wall clock."""
    virtual = VirtualTiming()
    with _timing.using(_timing.Timing(now=virtual.now, sleep=virtual.sleep)):
        yield virtual


class _TrioClock:
    """The fake's clock read from trio's (mock) clock, from 0 at creation."""

    def __init__(self) -> None:
        self._origin = trio.current_time()

    def now(self) -> float:
        return trio.current_time() - self._origin


@pytest.fixture
def trio_clock_fake() -> Callable[..., FakeSpeechAPI]:
    """Makes a fake API whose clock is trio's, for tests on the ``trio-virtual`` backend.

    With the library's real timing, trio's autojump clock moves only when every task is blocked,
    so that concurrent waits, requests in flight and the test's own sleeps interleave exactly.
    Call it inside the test (the clock needs the running trio loop).
    """

    def make(**kwargs: Any) -> FakeSpeechAPI:
        return FakeSpeechAPI(clock=_TrioClock(), **kwargs)

    return make


class Wire:
    """What the API sends, for tests to build responses from."""

    BASE_URL = BASE_URL
    TOKEN = TOKEN
    AUDIO_ID = AUDIO_ID
    MEDIA_URL = MEDIA_URL

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
