"""Large batches through one client never wait in httpx's pool: no PoolTimeout, ever.

The client queues requests in its own limiter (``max_connections``: 8 by default, 20 on the
aiohttp transport) and lets into httpx only as many as the pool has connections, so the pool's
timeout can be tiny and still never fire.  Checked against the fake served on a real socket, on
each transport.
"""

from __future__ import annotations

from collections.abc import Iterator

import anyio
import httpx
import pytest

from pixverse_speech import AsyncSpeechAPI, Speech
from pixverse_speech.testing import FakeClock, FakeSpeechAPI

pytestmark = pytest.mark.anyio

CONCURRENT = 1000


@pytest.fixture(scope="module")
def served() -> Iterator[tuple[FakeSpeechAPI, str, list[str]]]:
    """The fake on 127.0.0.1 with 50 finished jobs: (fake, base_url, audio_ids)."""
    fake = FakeSpeechAPI(clock=FakeClock())
    ids = [fake.add_job(queued_for=0, generating_for=0) for _ in range(50)]
    with fake.serve() as base_url:
        yield fake, base_url, ids


@pytest.mark.parametrize(
    ("anyio_backend", "transport"),
    [("asyncio", None), ("trio", None), ("asyncio", "aiohttp")],
    ids=["asyncio-httpx", "trio-httpx", "asyncio-aiohttp"],
)
async def test_a_thousand_concurrent_gets_never_hit_a_pool_timeout(
    served: tuple[FakeSpeechAPI, str, list[str]], transport: str | None
) -> None:
    """1,000 gets at once through default limits all succeed, with a 0.5 s pool timeout."""
    fake, base_url, ids = served
    fake.reset_stats()
    results: list[Speech] = []

    async def get(audio_id: str) -> None:
        results.append(await api.get(audio_id))

    async with AsyncSpeechAPI(
        token=fake.token,
        base_url=base_url,
        transport=transport,
        timeout=httpx.Timeout(30.0, pool=0.5),
        max_retries=0,  # a pool timeout would fail its get, not hide in a retry
    ) as api:
        with anyio.fail_after(60):
            async with anyio.create_task_group() as tg:
                for i in range(CONCURRENT):
                    tg.start_soon(get, ids[i % len(ids)])
    assert len(results) == CONCURRENT
    assert all(speech.is_completed for speech in results)
    assert len(fake.requests) == CONCURRENT
    # The client's default max_connections, not 1,000.
    assert fake.max_in_flight <= (20 if transport == "aiohttp" else 8)
