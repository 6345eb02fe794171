"""``AsyncSpeechAPI(webhooks=hub)``: callbacks end waits at one confirming GET, polls stay.

Real servers throughout: the hub under uvicorn on 127.0.0.1, the fake served on a socket (on a
clock ``SPEED`` times faster than the wall, so a minute of jobs takes about a second), and a
real redis-server.  A wait's fallback polls come every ``NEVER`` seconds where a test must show
that a callback, not a poll, ended it.
"""

from __future__ import annotations

import itertools
import random
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import anyio
import httpx
import pytest

from pixverse_speech import AsyncSpeechAPI, Speech, SpeechFailedError
from pixverse_speech.testing import (
    DEFAULT_VOICE_ID,
    FakeClock,
    FakeSpeechAPI,
    RealClock,
)
from pixverse_speech.webhooks import WebhookHub

from ._support import Heard, ReceiverProcess, RedisServer, eventually
from .conftest import ServeHub

pytestmark = pytest.mark.anyio

SPEED = 50.0
NEVER = 3600.0  # a fallback poll interval far longer than any test


def _gets(fake: FakeSpeechAPI, audio_id: str) -> int:
    """GET speech/{audio_id} requests the fake received."""
    return sum(
        1 for r in fake.requests if r.method == "GET" and r.path.endswith("/speech/" + audio_id)
    )


@contextmanager
def _served(fake: FakeSpeechAPI) -> Iterator[str]:
    with fake.serve() as base_url:
        yield base_url


def _client(fake: FakeSpeechAPI, base_url: str, hub: WebhookHub) -> AsyncSpeechAPI:
    return AsyncSpeechAPI(fake.token, base_url=base_url, webhooks=hub, max_connections=50)


async def _wait_all(api: AsyncSpeechAPI, ids: list[str], **kwargs: object) -> dict[str, Speech]:
    results: dict[str, Speech] = {}

    async def one(audio_id: str) -> None:
        results[audio_id] = await api.wait_until_final(audio_id, **kwargs)  # type: ignore[arg-type]

    async with anyio.create_task_group() as tg:
        for audio_id in ids:
            tg.start_soon(one, audio_id)
    return results


async def test_200_waits_end_by_their_callbacks(served_hub: ServeHub) -> None:
    """200 jobs ending at random within 60 s: each wait ends by callback at <= 2 GETs in all."""
    fake = FakeSpeechAPI(clock=RealClock(speed=SPEED), max_jobs=200)
    rng = random.Random(12)
    with served_hub(secret="s3cret", fallback_poll_interval=NEVER) as hub, _served(fake) as url:
        async with hub, _client(fake, url, hub) as api:
            ids = [
                fake.add_job(
                    reply_url=hub.reply_url(), queued_for=1, generating_for=rng.uniform(0, 59)
                )
                for _ in range(200)
            ]
            with anyio.fail_after(60):  # no fallback poll comes in time: callbacks end them
                results = await _wait_all(api, ids, timeout=None)
    assert all(speech.status_name == "COMPLETED" for speech in results.values())
    # Per id: one confirming GET after the callback, plus at most one GET for the first look
    # (waits started together are first looked at through the account's list pages).
    assert {_gets(fake, audio_id) for audio_id in ids} <= {1, 2}
    assert all(c.status == 200 for c in fake.callbacks)


async def test_generate_sends_the_reply_url_and_costs_create_plus_confirm(
    served_hub: ServeHub,
) -> None:
    """generate() on a webhook client: one create with the hub's replyUrl, then <= 2 GETs."""
    fake = FakeSpeechAPI(clock=RealClock(speed=SPEED), max_jobs=8)
    with served_hub(secret="s3cret", fallback_poll_interval=NEVER) as hub, _served(fake) as url:
        async with hub, _client(fake, url, hub) as api:
            with anyio.fail_after(30):
                speech = await api.generate("Hello there.", DEFAULT_VOICE_ID, reply_ref="order-7")
    [create] = [r for r in fake.requests if r.method == "POST"]
    assert create.body is not None
    assert create.body["replyUrl"] == hub.reply_url("order-7")
    assert create.body["replyRef"] == "order-7"
    assert 1 <= _gets(fake, speech.audio_id or "") <= 2


async def test_a_callers_reply_url_wins() -> None:
    """create(reply_url=...) on a webhook client sends the caller's URL, not the hub's."""
    hub = WebhookHub("http://127.0.0.1:9/hooks", secret="s3cret")
    fake = FakeSpeechAPI(clock=FakeClock())
    async with AsyncSpeechAPI(
        fake.token, base_url="http://fake/v2/", transport=fake.transport(), webhooks=hub
    ) as api:
        await api.create("Hi.", DEFAULT_VOICE_ID, reply_url="https://mine.example/cb")
        await api.create("Hi.", DEFAULT_VOICE_ID)
    bodies = [r.body or {} for r in fake.requests if r.method == "POST"]
    assert [b["replyUrl"] for b in bodies] == ["https://mine.example/cb", hub.reply_url()]


def test_webhooks_must_be_a_hub() -> None:
    """webhooks= takes a WebhookHub only: anything else is a TypeError naming it, at once."""
    with pytest.raises(TypeError, match="webhooks"):
        AsyncSpeechAPI("user:1-token", webhooks="https://app.example.com/hooks")  # type: ignore[arg-type]


async def test_a_lost_callback_only_delays_the_wait() -> None:
    """Callbacks dropped: the wait polls at once, then every fallback_poll_interval, and ends."""
    hub = WebhookHub("http://127.0.0.1:9/hooks", fallback_poll_interval=30)
    fake = FakeSpeechAPI(clock=FakeClock())
    fake.configure_callbacks(drop=1.0)
    audio_id = fake.add_job(reply_url=hub.reply_url(), queued_for=1, generating_for=44)
    async with AsyncSpeechAPI(
        fake.token, base_url="http://fake/v2/", transport=fake.transport(), webhooks=hub
    ) as api:
        with fake.virtual_time():
            speech = await api.wait_until_final(audio_id)
            explicit = fake.add_job(queued_for=1, generating_for=4)
            await api.wait_until_final(explicit, poll_interval=1, max_poll_interval=1)
    assert speech.status_name == "COMPLETED"
    times = [r.time for r in fake.requests if r.path.endswith(audio_id)]
    assert times[0] == 0
    assert len(times) == 3  # at 0, about 30 (QUEUED/GENERATING) and about 60 (COMPLETED)
    assert all(27 <= b - a <= 30 for a, b in itertools.pairwise(times))  # 30 s less jitter
    assert _gets(fake, explicit) >= 5  # an explicit schedule is kept: one poll a second


async def test_a_callback_ends_a_wait_exactly_as_a_poll(served_hub: ServeHub) -> None:
    """The confirmed record of a FAILED job raises SpeechFailedError and feeds on_update."""
    fake = FakeSpeechAPI(clock=FakeClock())
    seen: list[str] = []

    def on_update(speech: Speech) -> None:
        seen.append(speech.status_name)

    with served_hub(fallback_poll_interval=NEVER) as hub, _served(fake) as url:
        audio_id = fake.add_job(outcome="failed", reply_url=hub.reply_url(), generating_for=5)
        async with hub, _client(fake, url, hub) as api:

            async def advance_once_polled() -> None:
                await eventually(lambda: _gets(fake, audio_id) == 1)
                fake.clock.advance(60)  # the job fails; the fake calls back

            with anyio.fail_after(30):
                async with anyio.create_task_group() as tg:
                    tg.start_soon(advance_once_polled)
                    with pytest.raises(SpeechFailedError) as failed:
                        await api.wait_until_final(audio_id, on_update=on_update)
    assert failed.value.speech.fail_reason
    assert seen == ["QUEUED", "FAILED"]
    assert _gets(fake, audio_id) == 2


async def _pending_wait(
    api: AsyncSpeechAPI, fake: FakeSpeechAPI, audio_id: str, tg: anyio.abc.TaskGroup
) -> list[Speech]:
    """Start a wait on ``audio_id`` and return once its first poll is done."""
    done: list[Speech] = []

    async def wait() -> None:
        done.append(await api.wait_until_final(audio_id))

    tg.start_soon(wait)
    assert await eventually(lambda: _gets(fake, audio_id) == 1)
    return done


async def test_1000_duplicate_callbacks_cost_one_confirming_get(served_hub: ServeHub) -> None:
    """1,000 copies of one callback: all 200, and the wait sends one confirming GET.

    One in 20 arrives over uvicorn's socket, the rest straight through ``hub.app`` in this
    process: the hub is the same, and with uvicorn on a thread of this process each socket round
    trip waits for the GIL to change hands (5 ms), which would make the burst take seconds.
    """
    fake = FakeSpeechAPI(clock=FakeClock())
    with served_hub(fallback_poll_interval=NEVER) as hub, _served(fake) as url:
        audio_id = fake.add_job(generating_for=5)  # no replyUrl: the test sends the callbacks
        async with hub, _client(fake, url, hub) as api, anyio.create_task_group() as tg:
            done = await _pending_wait(api, fake, audio_id, tg)
            fake.clock.advance(60)
            statuses: list[int] = []
            limit = anyio.Semaphore(50)
            async with (
                httpx.AsyncClient(limits=httpx.Limits(max_connections=50)) as socket,
                httpx.AsyncClient(transport=httpx.ASGITransport(hub.app)) as direct,
            ):

                async def post(http: httpx.AsyncClient) -> None:
                    async with limit:
                        answer = await http.post(hub.reply_url(), json=fake.job(audio_id))
                    statuses.append(answer.status_code)

                async with anyio.create_task_group() as burst:
                    for n in range(1000):
                        burst.start_soon(post, direct if n % 20 else socket)
            assert await eventually(lambda: bool(done))
    assert statuses == [200] * 1000
    assert _gets(fake, audio_id) == 2  # the first poll, and one confirming GET


async def test_forged_callbacks_cost_no_request(served_hub: ServeHub) -> None:
    """With a secret, forged callbacks for a waiting id get 401 and cause 0 API requests."""
    fake = FakeSpeechAPI(clock=FakeClock())
    with served_hub(secret="s3cret", fallback_poll_interval=NEVER) as hub, _served(fake) as url:
        audio_id = fake.add_job(generating_for=5)
        async with hub, _client(fake, url, hub) as api, anyio.create_task_group() as tg:
            done = await _pending_wait(api, fake, audio_id, tg)
            fake.clock.advance(60)
            before = len(fake.requests)
            forged = WebhookHub(hub.url, secret="a guess")
            async with httpx.AsyncClient() as http:
                for url_ in (hub.url, forged.reply_url(), hub.reply_url("x") + "0"):
                    answer = await http.post(url_, json={"audio_id": audio_id})
                    assert answer.status_code == 401
                await anyio.sleep(0.2)  # time enough for a GET to show, were one caused
                assert len(fake.requests) == before
                assert not done
                # The genuine one, for contrast, ends the wait.
                assert (await http.post(hub.reply_url(), json={"audio_id": audio_id})).is_success
            assert await eventually(lambda: bool(done))
    assert _gets(fake, audio_id) == 2


async def test_an_unwatched_id_costs_no_request(served_hub: ServeHub) -> None:
    """Without a secret, a callback for an id nobody waits for is 200 and causes 0 requests."""
    fake = FakeSpeechAPI(clock=FakeClock())
    with served_hub(fallback_poll_interval=NEVER) as hub, _served(fake) as url:
        watched = fake.add_job(generating_for=5)
        async with hub, _client(fake, url, hub) as api, anyio.create_task_group() as tg:
            await _pending_wait(api, fake, watched, tg)
            before = len(fake.requests)
            async with httpx.AsyncClient() as http:
                for audio_id in ("user:1-pixverse:fake@example.com-speech:1", "anything"):
                    assert (
                        await http.post(hub.url, json={"audio_id": audio_id})
                    ).status_code == 200
            await anyio.sleep(0.2)
            assert len(fake.requests) == before
            tg.cancel_scope.cancel()


async def test_a_closed_client_stops_listening(served_hub: ServeHub) -> None:
    """After aclose() a callback reaches no listener of the client."""
    fake = FakeSpeechAPI(clock=FakeClock())
    with served_hub() as hub:
        api = AsyncSpeechAPI(fake.token, base_url="http://fake/v2/", webhooks=hub)
        async with api:
            pass
        async with hub, httpx.AsyncClient() as http:
            assert (await http.post(hub.url, json={"audio_id": "a"})).status_code == 200
    assert fake.requests == []


async def test_redis_lost_waits_poll_then_callbacks_return(
    served_hub: ServeHub, redis_server: RedisServer
) -> None:
    """Redis killed: every wait still ends, by its polls; Redis back: callbacks end waits again.

    The callbacks land on hub A (served); the waits run on a client of hub B, which hears of
    them only through Redis.
    """
    fake = FakeSpeechAPI(clock=RealClock(speed=SPEED), max_jobs=50)
    channel = f"test-{uuid.uuid4()}"
    options = {"redis_url": redis_server.url, "redis_channel": channel, "secret": "s3cret"}
    with served_hub(fallback_poll_interval=0.5, **options) as hub_a, _served(fake) as url:
        hub_b = WebhookHub(hub_a.url, fallback_poll_interval=0.5, **options)  # type: ignore[arg-type]
        heard_b = Heard()
        hub_b.add_listener(heard_b)
        async with hub_a, hub_b, _client(fake, url, hub_b) as api:
            redis_server.kill()
            assert await eventually(lambda: not hub_b.redis_connected)
            during = [
                fake.add_job(reply_url=hub_b.reply_url(), generating_for=20) for _ in range(10)
            ]
            with anyio.fail_after(30):
                await _wait_all(api, during, timeout=None)  # ends by polling
            assert {c.status for c in fake.callbacks} == {200}  # hub A took every callback
            assert not set(during) & set(heard_b.ids)  # and none of them reached hub B

            redis_server.start()
            assert await eventually(lambda: hub_a.redis_connected and hub_b.redis_connected, 20)
            after = [
                fake.add_job(reply_url=hub_b.reply_url(), generating_for=20) for _ in range(10)
            ]
            with anyio.fail_after(30):
                # Explicit slow polls: only a callback through Redis can end these in time.
                await _wait_all(api, after, poll_interval=NEVER, max_poll_interval=NEVER)
            assert set(after) <= set(heard_b.ids)
            assert {_gets(fake, audio_id) for audio_id in after} <= {1, 2}


async def test_callbacks_in_one_process_end_waits_in_another(redis_server: RedisServer) -> None:
    """Two processes on one Redis: callbacks land on process A, waits in this one end by them."""
    channel = f"test-{uuid.uuid4()}"
    receiver = ReceiverProcess(redis_server.url, channel=channel, secret="s3cret")
    try:
        hub = WebhookHub(
            receiver.url,  # one public URL for every worker, as behind a load balancer
            secret="s3cret",
            redis_url=redis_server.url,
            redis_channel=channel,
            fallback_poll_interval=NEVER,
        )
        fake = FakeSpeechAPI(clock=RealClock(speed=SPEED), max_jobs=100)
        rng = random.Random(3)
        with _served(fake) as url:
            async with hub, _client(fake, url, hub) as api:
                ids = [
                    fake.add_job(
                        reply_url=hub.reply_url(), queued_for=1, generating_for=rng.uniform(0, 59)
                    )
                    for _ in range(50)
                ]
                with anyio.fail_after(60):
                    results = await _wait_all(api, ids, timeout=None)
        arrivals = receiver.stop()
    finally:
        receiver.kill()
    assert all(speech.status_name == "COMPLETED" for speech in results.values())
    assert set(arrivals) == set(ids)  # every callback landed on process A
    assert {_gets(fake, audio_id) for audio_id in ids} <= {1, 2}


async def test_each_callback_after_an_unfinished_confirmation_confirms_again() -> None:
    """A callback while the job still runs costs one GET; the next callback costs one more."""
    hub = WebhookHub("http://app.test/hooks", fallback_poll_interval=NEVER)
    fake = FakeSpeechAPI(clock=FakeClock())
    audio_id = fake.add_job(generating_for=30)
    async with (
        AsyncSpeechAPI(
            fake.token, base_url="http://fake/v2/", transport=fake.transport(), webhooks=hub
        ) as api,
        httpx.AsyncClient(transport=httpx.ASGITransport(hub.app)) as http,
        anyio.create_task_group() as tg,
    ):
        done = await _pending_wait(api, fake, audio_id, tg)
        for confirmations in (2, 3):  # early callbacks (a confused or hostile sender)
            assert (await http.post(hub.url, json={"audio_id": audio_id})).status_code == 200
            assert await eventually(lambda n=confirmations: _gets(fake, audio_id) == n)
            await anyio.sleep(0.05)
            assert _gets(fake, audio_id) == confirmations  # one GET each, no more
            assert not done
        fake.clock.advance(60)
        assert (await http.post(hub.url, json={"audio_id": audio_id})).status_code == 200
        assert await eventually(lambda: bool(done))
    assert _gets(fake, audio_id) == 4
    assert done[0].status_name == "COMPLETED"
