"""wait_until_final and wait_many over real sockets: progress, deadlines, cancels, concurrency."""

from __future__ import annotations

import time
from collections.abc import Callable

import anyio
import pytest

from pixverse_speech import (
    AudioStatus,
    NotFoundError,
    ServerError,
    Speech,
    SpeechFailedError,
    WaitTimeoutError,
)

from .server import LoopbackServer, drop, reply
from .support import AUDIO_ID, SPEECH_PATH, assert_no_token, client, raises, record, speech_url

pytestmark = pytest.mark.anyio

PATH = speech_url(AUDIO_ID)
QUEUED, GENERATING, COMPLETED, FAILED = 5, 10, 1, 8
#: Poll quickly: these tests run against real time.
POLL, MAX_POLL = 0.01, 0.02


async def eventually(condition: Callable[[], bool], timeout: float = 3.0) -> bool:
    """Poll ``condition`` without blocking the event loop; whether it held within ``timeout``."""
    for _ in range(int(timeout / 0.01)):
        if condition():
            return True
        await anyio.sleep(0.01)
    return condition()


async def test_wait_follows_job_to_completion_through_transient_errors(
    server: LoopbackServer,
) -> None:
    """A job QUEUED -> GENERATING -> COMPLETED is followed through a 503 and a dropped link."""
    server.script(
        PATH,
        reply(record(AUDIO_ID, QUEUED)),
        reply(record(AUDIO_ID, GENERATING)),
        reply({"error": "Service Unavailable", "code": 503}, 503),
        drop(),
        reply(record(AUDIO_ID, GENERATING)),
        reply(record(AUDIO_ID, COMPLETED)),
    )
    updates: list[object] = []

    async def on_update(speech: Speech) -> None:
        updates.append(speech.audio_status)

    async with client(server, max_retries=0) as api:
        speech = await api.wait_until_final(
            AUDIO_ID,
            timeout=10.0,
            on_update=on_update,
            poll_interval=POLL,
            max_poll_interval=MAX_POLL,
        )

    assert speech.is_completed
    assert speech.audio_status is AudioStatus.COMPLETED
    assert updates == [AudioStatus.QUEUED, AudioStatus.GENERATING, AudioStatus.COMPLETED]
    assert len(server.requests) == 6


async def test_wait_with_request_retries_rides_over_a_503(server: LoopbackServer) -> None:
    """With request retries on, a 503 between polls is retried inside the poll and the wait ends."""
    server.script(
        PATH,
        reply(record(AUDIO_ID, QUEUED)),
        reply({"error": "Service Unavailable"}, 503),
        reply(record(AUDIO_ID, COMPLETED)),
    )
    seen: list[object] = []
    async with client(server, max_retries=2) as api:
        speech = await api.wait_until_final(
            AUDIO_ID,
            timeout=10.0,
            on_update=lambda s: seen.append(s.status_name),
            poll_interval=POLL,
            max_poll_interval=MAX_POLL,
        )
    assert speech.is_completed
    assert seen == ["QUEUED", "COMPLETED"]
    assert len(server.requests) == 3


async def test_wait_on_failed_job_raises_speech_failed_error(server: LoopbackServer) -> None:
    """A job that ends FAILED raises SpeechFailedError naming fail_code and fail_reason."""
    failed = record(AUDIO_ID, FAILED, fail_code="500043", fail_reason="upstream TTS error")
    server.script(PATH, reply(record(AUDIO_ID, GENERATING)), reply(failed))
    async with client(server) as api:
        with raises(SpeechFailedError) as caught:
            await api.wait_until_final(
                AUDIO_ID, timeout=10.0, poll_interval=POLL, max_poll_interval=MAX_POLL
            )
    exc = caught.value
    assert exc.audio_id == AUDIO_ID
    assert exc.speech.is_failed
    assert "500043" in str(exc)
    assert "upstream TTS error" in str(exc)


async def test_wait_on_failed_job_returns_it_when_not_raising(server: LoopbackServer) -> None:
    """raise_on_failure=False returns the FAILED record instead of raising."""
    server.script(PATH, reply(record(AUDIO_ID, FAILED, fail_code="1", fail_reason="boom")))
    async with client(server) as api:
        speech = await api.wait_until_final(
            AUDIO_ID, raise_on_failure=False, poll_interval=POLL, max_poll_interval=MAX_POLL
        )
    assert speech.is_failed
    assert speech.fail_reason == "boom"
    assert len(server.requests) == 1


async def test_wait_never_final_times_out_near_deadline(server: LoopbackServer) -> None:
    """A job that never finishes raises WaitTimeoutError soon after timeout=0.3."""
    server.script(PATH, reply(record(AUDIO_ID, QUEUED)))
    started = time.monotonic()
    async with client(server) as api:
        with raises(WaitTimeoutError) as caught:
            await api.wait_until_final(
                AUDIO_ID, timeout=0.3, poll_interval=POLL, max_poll_interval=MAX_POLL
            )
    elapsed = time.monotonic() - started
    exc = caught.value
    assert isinstance(exc, TimeoutError)
    assert 0.3 * 0.9 <= elapsed < 2.0
    assert exc.audio_id == AUDIO_ID
    assert exc.last is not None
    assert exc.last.audio_status is AudioStatus.QUEUED
    assert len(server.requests) >= 2


async def test_wait_deadline_cuts_short_a_request_in_flight(server: LoopbackServer) -> None:
    """A poll still unanswered at the wait's deadline does not hold the wait past it."""
    server.script(PATH, reply(record(AUDIO_ID, QUEUED), delay=10.0))
    started = time.monotonic()
    async with client(server, timeout=30.0) as api:
        with raises(WaitTimeoutError) as caught:
            await api.wait_until_final(
                AUDIO_ID, timeout=0.3, poll_interval=POLL, max_poll_interval=MAX_POLL
            )
    assert time.monotonic() - started < 2.0
    assert caught.value.last is None
    assert len(server.requests) == 1


async def test_wait_keeps_polling_through_server_errors_until_deadline(
    server: LoopbackServer,
) -> None:
    """Transient 503s never end a wait early: it ends at its deadline, naming the last error."""
    server.script(PATH, reply({"error": "Service Unavailable", "code": 503}, 503))
    started = time.monotonic()
    async with client(server, max_retries=0) as api:
        with raises(WaitTimeoutError) as caught:
            await api.wait_until_final(
                AUDIO_ID, timeout=0.4, poll_interval=POLL, max_poll_interval=MAX_POLL
            )
    elapsed = time.monotonic() - started
    assert 0.4 * 0.9 <= elapsed < 2.0
    assert isinstance(caught.value.last_error, ServerError)
    assert len(server.requests) >= 3


async def test_wait_on_missing_job_ends_at_once(server: LoopbackServer) -> None:
    """A 404 while waiting ends the wait at once with NotFoundError."""
    server.script(PATH, reply({"error": f"Speech {AUDIO_ID} not found"}, 404))
    started = time.monotonic()
    async with client(server, max_retries=3) as api:
        with raises(NotFoundError) as caught:
            await api.wait_until_final(
                AUDIO_ID, timeout=10.0, poll_interval=POLL, max_poll_interval=MAX_POLL
            )
    assert time.monotonic() - started < 2.0
    assert caught.value.audio_id == AUDIO_ID
    assert len(server.requests) == 1


@pytest.mark.parametrize("status", [429, 503])
async def test_wait_honours_retry_after_between_polls(server: LoopbackServer, status: int) -> None:
    """A 429 or 503 with Retry-After during a wait delays the next poll by at least that long."""
    server.script(
        PATH,
        reply({"error": "Account busy"}, status, headers={"Retry-After": "0.3"}),
        reply(record(AUDIO_ID, COMPLETED)),
    )
    async with client(server, max_retries=0) as api:
        speech = await api.wait_until_final(
            AUDIO_ID, timeout=10.0, poll_interval=POLL, max_poll_interval=MAX_POLL
        )
    assert speech.is_completed
    first, second = server.requests
    gap = second.received_at - first.received_at
    assert gap >= 0.28, f"retried after {gap:.3f} s"


@pytest.mark.parametrize("in_flight", [False, True], ids=["between-polls", "during-request"])
async def test_cancelled_wait_returns_promptly_and_client_stays_usable(
    server: LoopbackServer, in_flight: bool
) -> None:
    """A wait cancelled by move_on_after(0.2) ends promptly; the client then still works."""
    other = "user:1234-pixverse:someone@example.com-speech:99"
    delay = 10.0 if in_flight else 0.0
    server.script(PATH, reply(record(AUDIO_ID, QUEUED), delay=delay))
    server.script(speech_url(other), reply(record(other, COMPLETED)))
    async with client(server, timeout=30.0) as api:
        started = time.monotonic()
        with anyio.move_on_after(0.2) as scope:
            await api.wait_until_final(AUDIO_ID, timeout=None, poll_interval=0.05)
        elapsed = time.monotonic() - started
        assert scope.cancelled_caught
        assert elapsed < 1.0
        if in_flight:
            # The connection whose answer was abandoned is closed, not left half-used.
            [abandoned] = server.requests
            assert await eventually(lambda: server.connection_closed(abandoned.connection, 0))

        speech = await api.get(other)
        assert speech.audio_id == other
        assert server.open_connections() >= 1

    assert await eventually(lambda: server.open_connections() == 0)


async def test_cancelled_wait_many_leaves_client_usable(server: LoopbackServer) -> None:
    """wait_many cancelled while requests are held at the server ends promptly, client intact."""
    ids = [f"user:1234-pixverse:someone@example.com-speech:{n}" for n in range(6)]
    for audio_id in ids:
        server.script(speech_url(audio_id), reply(record(audio_id, QUEUED), delay=10.0))
    other = "user:1234-pixverse:someone@example.com-speech:99"
    server.script(speech_url(other), reply(record(other, COMPLETED)))
    # The list does not show these jobs: wait_many polls them one by one after one page.
    server.script(SPEECH_PATH, reply({"data": [], "has_more": False}))
    async with client(server, timeout=30.0) as api:
        started = time.monotonic()
        with anyio.move_on_after(0.2) as scope:
            await api.wait_many(ids, concurrency=2, timeout=None)
        assert scope.cancelled_caught
        assert time.monotonic() - started < 1.0
        polls = [r for r in server.requests if r.path != SPEECH_PATH]
        assert len(polls) == 2
        held = {r.connection for r in polls}
        assert await eventually(lambda: all(server.connection_closed(c, 0) for c in held))
        assert (await api.get(other)).audio_id == other
    assert await eventually(lambda: server.open_connections() == 0)


async def test_aclose_closes_every_pooled_connection(server: LoopbackServer) -> None:
    """After concurrent gets open several connections, aclose() leaves none open at the server."""
    server.script(PATH, reply(record(AUDIO_ID), delay=0.05))
    api = client(server)
    try:
        async with anyio.create_task_group() as tg:
            for _ in range(5):
                tg.start_soon(api.get, AUDIO_ID)
        assert len({r.connection for r in server.requests}) >= 2
        assert server.open_connections() >= 2
    finally:
        await api.aclose()
    assert api.is_closed
    assert await eventually(lambda: server.open_connections() == 0)


async def test_wait_many_keeps_concurrency_and_input_order(server: LoopbackServer) -> None:
    """wait_many over 20 ids with concurrency=3 never has more than 3 requests at the server."""
    ids = [f"user:1234-pixverse:someone@example.com-speech:{n}" for n in range(20)]
    # The list does not show these jobs: wait_many polls them one by one after one page.
    server.script(SPEECH_PATH, reply({"data": [], "has_more": False}))
    for n, audio_id in enumerate(ids):
        if n == 7:
            server.script(speech_url(audio_id), reply({"error": "not found"}, 404, delay=0.02))
        elif n == 11:
            server.script(
                speech_url(audio_id),
                reply(record(audio_id, GENERATING), delay=0.02),
                reply(record(audio_id, FAILED, fail_code="9", fail_reason="x"), delay=0.02),
            )
        else:
            server.script(
                speech_url(audio_id),
                reply(record(audio_id, QUEUED), delay=0.02),
                reply(record(audio_id, GENERATING), delay=0.02),
                reply(record(audio_id, COMPLETED), delay=0.02),
            )
    async with client(server) as api:
        results = await api.wait_many(
            ids, concurrency=3, timeout=20.0, poll_interval=POLL, max_poll_interval=MAX_POLL
        )

    assert 2 <= server.max_in_flight <= 3
    assert len(results) == 20
    for n, (audio_id, result) in enumerate(zip(ids, results, strict=True)):
        if n == 7:
            assert isinstance(result, NotFoundError)
            assert result.audio_id == audio_id
            assert_no_token(result)
        elif n == 11:
            assert isinstance(result, Speech)
            assert result.is_failed
            assert result.audio_id == audio_id
        else:
            assert isinstance(result, Speech)
            assert result.is_completed
            assert result.audio_id == audio_id
    for n, audio_id in enumerate(ids):
        assert len(server.requests_to(speech_url(audio_id))) == {7: 1, 11: 2}.get(n, 3)
