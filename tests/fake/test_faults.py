"""Fault injection, in-process and over a real socket, and the fake's request statistics."""

from __future__ import annotations

import json
import re
from typing import Any

import anyio
import httpx
import pytest

from pixverse_speech.testing import FakeClock, FakeSpeechAPI, Fault, StatusFault

pytestmark = pytest.mark.anyio

MODELS = "pixverse/speech/models"
CREATE = "pixverse/speech/create"
BODY = {"text": "Hello.", "voice_id": "minimax_english_radiant_girl"}


async def test_status_fault_answers_then_stops_after_times(
    connect: Any, fake: FakeSpeechAPI
) -> None:
    """Fault.status answers with its status, headers and body N times, then the API answers."""
    handle = fake.inject(Fault.status(429, headers={"Retry-After": "2"}), path="speech/", times=1)
    async with connect() as client:
        first = await client.get(MODELS)
        second = await client.get(MODELS)
        fake.inject(Fault.status(503), times=1)
        fake.inject(Fault.status(502, body="<html>Bad gateway</html>", content_type="text/html"))
        unavailable = await client.get(MODELS)
        gateway = await client.get(MODELS)
    assert unavailable.status_code == 503
    assert unavailable.json() == {"error": "Service Unavailable", "code": 503}
    assert gateway.status_code == 502
    assert gateway.headers["content-type"] == "text/html"
    assert gateway.text == "<html>Bad gateway</html>"
    assert first.status_code == 429
    assert first.headers["retry-after"] == "2"
    assert first.json() == {"error": "Too Many Requests", "code": 429}
    assert second.status_code == 200
    assert (handle.fired, handle.active, handle.remaining) == (1, False, 0)
    assert fake.faults_injected == 3
    assert [r.fault for r in fake.requests] == ["status", None, "status", "status"]
    assert [r.status for r in fake.requests] == [429, 200, 503, 502]


async def test_status_fault_answers_instead_of_the_api(inproc: Any, fake: FakeSpeechAPI) -> None:
    """A create hit by a status fault makes no job (the API never saw it)."""
    fake.inject(Fault.status(503), path="speech/create", times=1)
    async with inproc() as client:
        response = await client.post(CREATE, json=BODY)
    assert response.status_code == 503
    assert fake.audio_ids == []


async def test_delay_fault_holds_the_normal_response(connect: Any, fake: FakeSpeechAPI) -> None:
    """Fault.delay(s) answers normally, s seconds late."""
    fake.inject(Fault.delay(0.2), times=1)
    async with connect() as client:
        started = anyio.current_time()
        response = await client.get(MODELS)
        elapsed = anyio.current_time() - started
    assert response.status_code == 200
    assert elapsed >= 0.19
    assert fake.requests[0].fault == "delay"


async def test_delay_beyond_read_timeout_is_read_timeout(connect: Any, fake: FakeSpeechAPI) -> None:
    """A delay longer than the read timeout ends in httpx.ReadTimeout; the create still happened."""
    fake.inject(Fault.delay(0.6), times=1)
    async with connect(timeout=httpx.Timeout(5.0, read=0.1)) as client:
        started = anyio.current_time()
        with pytest.raises(httpx.ReadTimeout):
            await client.post(CREATE, json=BODY)
        elapsed = anyio.current_time() - started
    assert 0.09 <= elapsed < 0.5
    assert len(fake.audio_ids) == 1
    assert fake.requests[0].status == 200


async def test_drop_fault_breaks_the_connection(connect: Any, fake: FakeSpeechAPI) -> None:
    """Fault.drop() shows as httpx.RemoteProtocolError; the create behind it still happened."""
    fake.inject(Fault.drop(), times=2)
    async with connect() as client:
        with pytest.raises(httpx.RemoteProtocolError, match="peer closed connection"):
            await client.get(MODELS)
        with pytest.raises(httpx.RemoteProtocolError):
            await client.post(CREATE, json=BODY)
        after = await client.get(MODELS)
    assert after.status_code == 200
    assert len(fake.audio_ids) == 1
    assert [(r.fault, r.status) for r in fake.requests] == [
        ("drop", None),
        ("drop", None),
        (None, 200),
    ]


async def test_drop_fault_when_streaming_fails_on_the_body(
    connect: Any, fake: FakeSpeechAPI
) -> None:
    """A streamed response hit by a drop has its status and headers, then the body read fails."""
    fake.inject(Fault.drop(), times=1)
    async with connect() as client, client.stream("GET", MODELS) as response:
        assert response.status_code == 200
        with pytest.raises(httpx.RemoteProtocolError):
            await response.aread()


async def test_malformed_fault_sends_undecodable_json(connect: Any, fake: FakeSpeechAPI) -> None:
    """Fault.malformed() answers 200 with a body that does not decode as the JSON it claims."""
    fake.inject(Fault.malformed(), times=1)
    fake.inject(Fault.malformed("<html>oops</html>", content_type="text/html"), times=1)
    async with connect() as client:
        truncated = await client.get(MODELS)
        html = await client.get(MODELS)
    assert truncated.status_code == 200
    assert truncated.headers["content-type"] == "application/json"
    with pytest.raises(json.JSONDecodeError):
        truncated.json()
    assert html.text == "<html>oops</html>"
    assert fake.faults_injected == 2


async def test_faults_match_method_and_path(
    inproc: Any, fake: FakeSpeechAPI, clock: FakeClock
) -> None:
    """Faults hit only requests whose method matches and whose path contains/matches the filter."""
    audio_id = fake.add_job()
    fake.inject(Fault.status(500), method="POST", times=1)
    fake.inject(Fault.status(418), path=re.compile(r"speech/user:[^/]*:\d+$"))
    fake.inject(Fault.status(503), path="speech/voices")
    async with inproc() as client:
        listing = await client.get("pixverse/speech/")
        retrieve = await client.get(f"pixverse/speech/{audio_id}")
        voices = await client.get("pixverse/speech/voices")
        create = await client.post(CREATE, json=BODY)
        models = await client.get(MODELS)
    assert [listing.status_code, retrieve.status_code, voices.status_code] == [200, 418, 503]
    assert [create.status_code, models.status_code] == [500, 200]


async def _hits(seed: int, probability: float, requests: int = 40) -> list[bool]:
    fake = FakeSpeechAPI(clock=FakeClock(), seed=seed)
    fake.inject(Fault.status(503), probability=probability)
    async with httpx.AsyncClient(
        transport=fake.transport(),
        base_url="http://fake/v2/",
        headers={"Authorization": "Bearer user:1-fake-token"},
    ) as client:
        return [(await client.get(MODELS)).status_code == 503 for _ in range(requests)]


async def test_probability_faults_repeat_with_the_same_seed() -> None:
    """Probability faults follow random.Random(seed): the same seed gives the same hits."""
    first = await _hits(7, 0.5)
    assert first == await _hits(7, 0.5)
    assert first != await _hits(8, 0.5)
    assert 8 <= sum(first) <= 32
    assert not any(await _hits(7, 0.0))
    assert all(await _hits(7, 1.0, requests=5))


async def test_times_caps_probability_faults(inproc: Any, fake: FakeSpeechAPI) -> None:
    """times=N caps how often a fault fires, also with a probability."""
    handle = fake.inject(Fault.status(503), times=2, probability=1.0)
    async with inproc() as client:
        statuses = [(await client.get(MODELS)).status_code for _ in range(4)]
    assert statuses == [503, 503, 200, 200]
    assert handle.fired == 2


async def test_cancel_clear_and_reset_stats(inproc: Any, fake: FakeSpeechAPI) -> None:
    """cancel() and clear_faults() stop faults; reset_stats() zeroes requests and the tally."""
    first = fake.inject(Fault.status(503))
    fake.inject(Fault.status(500))
    async with inproc() as client:
        assert (await client.get(MODELS)).status_code == 503
        first.cancel()
        assert (await client.get(MODELS)).status_code == 500
        fake.clear_faults()
        assert (await client.get(MODELS)).status_code == 200
    assert fake.faults == []
    assert (fake.faults_injected, len(fake.requests)) == (2, 3)
    fake.reset_stats()
    assert (fake.faults_injected, fake.requests, fake.max_in_flight) == (0, [], 0)


async def test_max_in_flight_counts_concurrent_requests(connect: Any, fake: FakeSpeechAPI) -> None:
    """Requests held by a delay overlap: in_flight rises while they wait, max_in_flight keeps it."""
    fake.inject(Fault.delay(0.4))
    seen: list[int] = []
    async with connect() as client:

        async def fetch() -> None:
            assert (await client.get(MODELS)).status_code == 200

        async with anyio.create_task_group() as tg:
            for _ in range(5):
                tg.start_soon(fetch)
            with anyio.fail_after(2):
                while fake.in_flight < 5:  # noqa: ASYNC110 - a counter, not an event
                    await anyio.sleep(0.01)
            seen.append(fake.in_flight)
    assert seen == [5]
    assert (fake.in_flight, fake.max_in_flight) == (0, 5)


def test_fault_arguments_are_checked(fake: FakeSpeechAPI) -> None:
    """Bad fault parameters raise at once instead of misbehaving later."""
    with pytest.raises(ValueError, match="times"):
        fake.inject(Fault.drop(), times=0)
    with pytest.raises(ValueError, match="probability"):
        fake.inject(Fault.drop(), probability=1.5)
    with pytest.raises(TypeError):
        fake.inject("503")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="HTTP status"):
        Fault.status(42)
    with pytest.raises(ValueError, match="delay"):
        Fault.delay(-1)
    assert isinstance(Fault.status(404), StatusFault)
    assert [Fault.status(500).kind, Fault.delay(1).kind, Fault.drop().kind] == [
        "status",
        "delay",
        "drop",
    ]
