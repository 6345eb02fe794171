"""The example backend with a webhook hub: a job's callback ends the route's wait at once."""

from __future__ import annotations

from collections.abc import AsyncIterator

import anyio
import httpx
import pytest
from fastapi import FastAPI

from examples.fastapi_app.app import create_app
from pixverse_speech import AsyncSpeechAPI
from pixverse_speech.testing import DEFAULT_VOICE_ID, FakeClock, FakeSpeechAPI
from pixverse_speech.webhooks import WebhookHub

pytestmark = pytest.mark.anyio

HOOK_URL = "http://app.test/hooks/speech"


@pytest.fixture(params=["asyncio", "trio"])
def anyio_backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def hub() -> WebhookHub:
    # Fallback polls an hour apart: only a callback can end a wait within the test.
    return WebhookHub(HOOK_URL, secret="s3cret", fallback_poll_interval=3600)


@pytest.fixture
def app_and_fake(hub: WebhookHub) -> tuple[FastAPI, FakeSpeechAPI]:
    """The app, its client bound to the fake, and the fake calling the app's webhook route.

    The fake calls back in-process, through ``httpx.ASGITransport(app)``, as the API would over
    the internet.
    """
    holder: list[FakeSpeechAPI] = []
    app = create_app(
        lambda: AsyncSpeechAPI(
            holder[0].token,
            base_url="http://fake/v2/",
            transport=holder[0].transport(),
            webhooks=hub,
        ),
        hub=hub,
    )
    holder.append(FakeSpeechAPI(clock=FakeClock(), callback_transport=httpx.ASGITransport(app)))
    return app, holder[0]


@pytest.fixture
def fake(app_and_fake: tuple[FastAPI, FakeSpeechAPI]) -> FakeSpeechAPI:
    return app_and_fake[1]


@pytest.fixture
async def client(
    app_and_fake: tuple[FastAPI, FakeSpeechAPI],
) -> AsyncIterator[httpx.AsyncClient]:
    app = app_and_fake[0]
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app), base_url="http://app") as http,
    ):
        yield http


def _gets(fake: FakeSpeechAPI, audio_id: str) -> int:
    return sum(1 for r in fake.requests if r.method == "GET" and r.path.endswith(audio_id))


async def test_post_speech_then_wait_ends_on_the_callback(
    client: httpx.AsyncClient, fake: FakeSpeechAPI, hub: WebhookHub
) -> None:
    """POST /speech sends the hub's replyUrl; the wait route returns once the callback lands."""
    started = await client.post("/speech", json={"text": "Hello.", "voice_id": DEFAULT_VOICE_ID})
    assert started.status_code == 202, started.text
    audio_id = started.json()["audio_id"]
    [create] = [r for r in fake.requests if r.method == "POST"]
    assert (create.body or {})["replyUrl"] == hub.reply_url()

    async def finish_after_first_poll() -> None:
        while _gets(fake, audio_id) < 1:  # noqa: ASYNC110 - the fake has no event for it
            await anyio.sleep(0.005)
        fake.clock.advance(60)  # the job ends; the fake calls the app back

    with anyio.fail_after(20):
        async with anyio.create_task_group() as tg:
            tg.start_soon(finish_after_first_poll)
            answer = await client.post(f"/speech/{audio_id}/wait", params={"timeout": 60})
    assert answer.status_code == 200
    assert answer.json()["status"] == "COMPLETED"
    with anyio.fail_after(5):
        while fake.pending_callbacks:  # noqa: ASYNC110 - the sender records it on its thread
            await anyio.sleep(0.005)
    assert [c.status for c in fake.callbacks] == [200]
    assert _gets(fake, audio_id) == 2  # the first poll and one confirming GET


async def test_a_forged_callback_is_refused_by_the_app(
    client: httpx.AsyncClient, fake: FakeSpeechAPI
) -> None:
    """The app's webhook route answers 401 to an unsigned callback and asks the API nothing."""
    answer = await client.post("/hooks/speech", json={"audio_id": "user:1-speech:1"})
    assert answer.status_code == 401
    assert fake.requests == []
