"""Fixtures of the batch-generation tests: both backends, a fake enforcing max_jobs."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest

from pixverse_speech import AsyncSpeechAPI, _timing
from pixverse_speech.testing import FakeClock, FakeSpeechAPI

from ._support import client


@pytest.fixture(params=["asyncio", "trio"])
def anyio_backend(request: pytest.FixtureRequest) -> str:
    """Every async test runs under asyncio and under trio."""
    return str(request.param)


@pytest.fixture(autouse=True)
def _restore_timing() -> Iterator[None]:
    """No test leaks a timing switch into the next one."""
    before = _timing.current()
    yield
    assert _timing.current() is before, "a test left a timing installed"
    _timing.install(before)


@pytest.fixture(autouse=True)
def _no_token_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("USEAPI_TOKEN", raising=False)


@pytest.fixture
def fake() -> FakeSpeechAPI:
    """One account that runs at most 4 jobs at once (429 beyond), jobs of 10 s, on a fake clock."""
    return FakeSpeechAPI(clock=FakeClock(), max_jobs=4, queued_for=1.0, generating_for=9.0)


@pytest.fixture
async def api(fake: FakeSpeechAPI) -> AsyncIterator[AsyncSpeechAPI]:
    """A client of ``fake`` (in-process), on the fake's virtual time for the whole test."""
    async with client(fake) as api:
        with fake.virtual_time():
            yield api
