"""pytest fixtures for code that uses pixverse_speech, registered through the ``pytest11`` entry
point: installing the package makes them available, with no ``conftest.py`` to write.

- ``speech_fake``: a fresh :class:`FakeSpeechAPI` on a :class:`FakeClock`, with virtual time in
  force for the test, so that the client's waits take no real time.
- ``speech_api``: an :class:`~pixverse_speech.AsyncSpeechAPI` bound to ``speech_fake`` in-process,
  closed after the test.  It is an async fixture: the test runs under anyio's pytest plugin
  (``@pytest.mark.anyio``) or pytest-asyncio.

Outside pytest, ``FakeSpeechAPI(clock=FakeClock()).client()`` builds the same client.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest

from .._client import AsyncSpeechAPI
from ._clock import FakeClock
from ._fake import FakeSpeechAPI

__all__ = ["speech_api", "speech_fake"]


@pytest.fixture
def speech_fake() -> Iterator[FakeSpeechAPI[FakeClock]]:
    """A fresh fake speech API on a fake clock, with the client's waits on that clock."""
    fake = FakeSpeechAPI(clock=FakeClock())
    with fake.virtual_time():
        yield fake


@pytest.fixture
async def speech_api(speech_fake: FakeSpeechAPI[FakeClock]) -> AsyncIterator[AsyncSpeechAPI]:
    """An ``AsyncSpeechAPI`` bound to ``speech_fake``, closed after the test."""
    async with speech_fake.client() as api:
        yield api
