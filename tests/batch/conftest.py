"""Fixtures of the batch-waiting tests: both backends, a fake on a fake clock, per-id yardsticks."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from pixverse_speech import AsyncSpeechAPI
from pixverse_speech.testing import FakeClock, FakeSpeechAPI

from ._support import Baseline, Spread, client, per_id_baseline


@pytest.fixture
def fake() -> FakeSpeechAPI:
    """A fake of one account on a clock that moves only when the client waits."""
    return FakeSpeechAPI(clock=FakeClock())


@pytest.fixture
async def api(fake: FakeSpeechAPI) -> AsyncIterator[AsyncSpeechAPI]:
    """A client of ``fake`` (in-process), its random numbers seeded."""
    async with client(fake) as api:
        api.wait_engine.rng.seed(3)
        yield api


# The per-id yardsticks take a few seconds each: measured once per session, shared by both
# backends' runs of the tests that compare against them.


@pytest.fixture(scope="session")
def spread_300_per_id() -> Baseline:
    """Per-id waiting on 300 jobs finishing between 5 and 60 s, default (jittered) schedule."""
    return per_id_baseline(Spread(n=300), jitter=0.1)


@pytest.fixture(scope="session")
def spread_300_per_id_no_jitter() -> Baseline:
    """The same with the jitter off: every job's polls fall at the same, known instants."""
    return per_id_baseline(Spread(n=300), jitter=0.0)


@pytest.fixture(scope="session")
def spread_100_per_id() -> Baseline:
    """Per-id waiting on 100 such jobs (the worst-case comparison)."""
    return per_id_baseline(Spread(n=100, seed=2), jitter=0.1)
