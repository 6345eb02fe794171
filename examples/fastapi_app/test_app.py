"""The example backend, tested against the fake API: how users test their own FastAPI apps."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from examples.fastapi_app.app import create_app
from pixverse_speech import AsyncSpeechAPI
from pixverse_speech.testing import DEFAULT_VOICE_ID, FakeClock, FakeSpeechAPI, Fault

pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def fake() -> FakeSpeechAPI[FakeClock]:
    return FakeSpeechAPI(clock=FakeClock(), queued_for=1.0, generating_for=4.0)


@pytest.fixture
async def client(fake: FakeSpeechAPI[FakeClock]) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(
        lambda: AsyncSpeechAPI(
            fake.token, base_url="http://fake/v2/", transport=fake.transport(), max_retries=1
        )
    )
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app), base_url="http://app") as http,
    ):
        yield http


async def test_start_then_poll_a_job(
    client: httpx.AsyncClient, fake: FakeSpeechAPI[FakeClock]
) -> None:
    """POST /jobs starts a job on the API and GET /jobs/{id} reports its status as it moves."""
    started = await client.post("/jobs", json={"text": "Hello.", "voice_id": DEFAULT_VOICE_ID})
    assert started.status_code == 202, started.text
    audio_id = started.json()["audio_id"]
    assert started.json()["status"] == "QUEUED"
    fake.clock.advance(10)
    job = (await client.get(f"/jobs/{audio_id}")).json()
    assert job["status"] == "COMPLETED"
    assert job["url"]


async def test_wait_returns_the_final_job(
    client: httpx.AsyncClient, fake: FakeSpeechAPI[FakeClock]
) -> None:
    """POST /jobs/{id}/wait answers 200 with the final job once it completes."""
    audio_id = fake.add_job()
    with fake.virtual_time():
        answer = await client.post(f"/jobs/{audio_id}/wait", params={"timeout": 30})
    assert answer.status_code == 200
    assert answer.json()["final"] is True
    assert answer.json()["status"] == "COMPLETED"


async def test_wait_past_its_timeout_answers_202(
    client: httpx.AsyncClient, fake: FakeSpeechAPI
) -> None:
    """A wait that runs out of time answers 202 with the last status seen, not an error."""
    audio_id = fake.add_job(generating_for=600)
    with fake.virtual_time():
        answer = await client.post(f"/jobs/{audio_id}/wait", params={"timeout": 5})
    assert answer.status_code == 202
    assert answer.json()["final"] is False
    assert answer.json()["status"] in ("QUEUED", "GENERATING")


async def test_failed_job_is_reported_not_raised(
    client: httpx.AsyncClient, fake: FakeSpeechAPI
) -> None:
    """A job that ends FAILED is a 200 with status FAILED and the upstream's reason."""
    audio_id = fake.add_job(outcome="failed", fail_reason="backend hiccup")
    with fake.virtual_time():
        answer = await client.post(f"/jobs/{audio_id}/wait")
    assert answer.status_code == 200
    assert answer.json()["status"] == "FAILED"
    assert answer.json()["fail_reason"] == "backend hiccup"


async def test_unknown_job_is_404_with_its_id(client: httpx.AsyncClient) -> None:
    """An id the API does not know is a 404 that names the id."""
    answer = await client.get("/jobs/user:1-pixverse:fake@example.com-speech:999")
    assert answer.status_code == 404
    assert answer.json()["audio_id"] == "user:1-pixverse:fake@example.com-speech:999"


async def test_bad_create_input_is_refused_before_the_api(
    client: httpx.AsyncClient, fake: FakeSpeechAPI
) -> None:
    """Text over the model's limit is a 422 from the library's own check: no request upstream."""
    answer = await client.post(
        "/jobs",
        json={"text": "x" * 5001, "voice_id": DEFAULT_VOICE_ID, "model": "eleven-v3"},
    )
    assert answer.status_code == 422
    assert "text" in answer.json()["error"]
    assert not [r for r in fake.requests if r.method == "POST"]


async def test_upstream_outage_is_503(
    client: httpx.AsyncClient, fake: FakeSpeechAPI[FakeClock]
) -> None:
    """A persistent upstream 503 becomes a 503 from the backend after the client's retries."""
    fake.inject(Fault.status(503), path="speech/")
    with fake.virtual_time():
        answer = await client.get("/jobs")
    assert answer.status_code == 503


async def test_list_jobs_newest_first(
    client: httpx.AsyncClient, fake: FakeSpeechAPI[FakeClock]
) -> None:
    """GET /jobs lists the account's jobs, newest first."""
    first, second = fake.add_job(), fake.add_job()
    jobs = (await client.get("/jobs")).json()
    assert [job["audio_id"] for job in jobs] == [second, first]
