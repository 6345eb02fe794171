"""aclose() while waits have requests in flight on a real socket: one clear RuntimeError each."""

from __future__ import annotations

import anyio
import pytest

from pixverse_speech import AsyncSpeechAPI

from .server import LoopbackServer, reply
from .support import client, record, speech_url

pytestmark = pytest.mark.anyio

#: Ids without an account inside: polled by GET only, so every wait has a GET in flight.
IDS = ["held-job-1", "held-job-2", "held-job-3"]


def _hold_every_get(server: LoopbackServer) -> None:
    for audio_id in IDS:
        server.script(speech_url(audio_id), reply(record(audio_id, status=10), delay=60.0))


async def _close_when_held(api: AsyncSpeechAPI, server: LoopbackServer, count: int) -> None:
    """Close the client once ``count`` requests are held by the server (bounded: 5 s)."""
    with anyio.fail_after(5.0):
        for _ in range(500):  # the server runs in threads: nothing to wait on but its record
            if len(server.requests) >= count:
                break
            await anyio.sleep(0.01)
    await api.aclose()


async def _outcome(call: object) -> BaseException | None:
    try:
        await call  # type: ignore[misc]
    except BaseException as exc:
        return exc
    return None


@pytest.mark.parametrize("kind", ["wait_many", "as_completed", "wait_until_final"])
async def test_aclose_with_requests_in_flight_raises_runtime_error(
    server: LoopbackServer, kind: str
) -> None:
    """aclose() during wait_many/as_completed/gathered waits, GETs held by the server: each ends
    at once (not when the 60 s answer comes) with RuntimeError alone, never an ExceptionGroup."""
    _hold_every_get(server)
    outcomes: list[BaseException | None] = []
    api = client(server)

    async def consume() -> None:
        async for _ in api.as_completed(IDS):
            pass

    async def run(call: str) -> None:
        if call == "wait_many":
            outcomes.append(await _outcome(api.wait_many(IDS)))
        elif call == "as_completed":
            outcomes.append(await _outcome(consume()))
        else:
            async with anyio.create_task_group() as tg:
                for audio_id in IDS:

                    async def one(audio_id: str = audio_id) -> None:
                        outcomes.append(await _outcome(api.wait_until_final(audio_id)))

                    tg.start_soon(one)

    with anyio.fail_after(10.0):
        async with anyio.create_task_group() as tg:
            tg.start_soon(run, kind)
            tg.start_soon(_close_when_held, api, server, len(IDS))
    assert outcomes, "the wait did not end"
    for outcome in outcomes:
        assert type(outcome) is RuntimeError, repr(outcome)
        assert "closed" in str(outcome)
