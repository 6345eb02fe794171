"""Fixtures of the core client's unit tests: respx routes, virtual time, sample records."""

from __future__ import annotations

import ssl
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest
import respx

from pixverse_speech import AsyncSpeechAPI, _timing

BASE_URL = "https://api.useapi.net/v2/"
TOKEN = "user:12345-s3cr3tT0kenValue9876"
AUDIO_ID = "user:12345-pixverse:me@example.com-speech:11223344"


@pytest.fixture(autouse=True)
def clock(virtual_timing: Any) -> Any:
    """Every test runs on virtual time (the root conftest's ``VirtualTiming``): no pause of the
    library ever waits on the wall clock."""
    return virtual_timing


@pytest.fixture
def real_timing(clock: Any) -> Iterator[None]:
    """The library's own timing (the event loop's clock and ``anyio.sleep``), for tests that run
    on trio's virtual clock or that cancel a real pause."""
    with _timing.using(_timing.Timing()):
        yield


@pytest.fixture
def router() -> Iterator[respx.MockRouter]:
    """respx routes relative to the API root; a request no route matches fails the test."""
    with respx.mock(base_url=BASE_URL, assert_all_called=False) as mock:
        yield mock


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
