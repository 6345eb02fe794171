"""The example backend tested with nothing but the library's pytest fixtures.

``speech_fake`` and ``speech_api`` come from the plugin that installing pixverse-speech registers
(the ``pytest11`` entry point): no conftest.py, no client set-up of our own.
"""

from __future__ import annotations

import httpx
import pytest

from examples.fastapi_app.app import create_app
from pixverse_speech import AsyncSpeechAPI
from pixverse_speech.testing import DEFAULT_VOICE_ID, FakeClock, FakeSpeechAPI

pytestmark = pytest.mark.anyio


async def test_job_lifecycle_through_the_app(
    speech_fake: FakeSpeechAPI[FakeClock], speech_api: AsyncSpeechAPI
) -> None:
    """Start a job through the app, let the fake's clock run, and read it back COMPLETED."""
    app = create_app(lambda: speech_api)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app), base_url="http://app") as http,
    ):
        started = await http.post("/jobs", json={"text": "Hi.", "voice_id": DEFAULT_VOICE_ID})
        assert started.status_code == 202, started.text
        audio_id = started.json()["audio_id"]
        speech_fake.clock.advance(60)
        job = (await http.get(f"/jobs/{audio_id}")).json()
    assert job["status"] == "COMPLETED"
    assert speech_fake.job(audio_id)["audio_status_name"] == "COMPLETED"


async def test_wait_endpoint_runs_on_virtual_time(
    speech_fake: FakeSpeechAPI[FakeClock], speech_api: AsyncSpeechAPI
) -> None:
    """POST /jobs/{id}/wait polls on the fake's clock: a 30 s job takes no real time."""
    audio_id = speech_fake.add_job(generating_for=30)
    app = create_app(lambda: speech_api)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app), base_url="http://app") as http,
    ):
        answer = await http.post(f"/jobs/{audio_id}/wait", params={"timeout": 60})
    assert answer.status_code == 200
    assert answer.json()["status"] == "COMPLETED"
    assert speech_fake.clock.now() >= 30
