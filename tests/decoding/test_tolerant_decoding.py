"""Tolerant decoding through the client: odd fields never lose a job, essential ones still count.

Only ``audio_id``, ``audio_status`` and ``audio_status_final`` are strict; any other field of a
wrong type is ``None``, its value kept in ``invalid_fields`` and logged once per field per client.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest
import respx

from pixverse_speech import AsyncSpeechAPI, ResponseDecodeError, Speech

from .conftest import TOKEN, LogWarnings

pytestmark = pytest.mark.anyio

EMAIL = "me@example.com"
LIST_PATH = "pixverse/speech/"


def job(n: int, status: int = 1, **fields: Any) -> dict[str, Any]:
    """A job record as the API sends it (COMPLETED unless told)."""
    names = {1: "COMPLETED", 5: "QUEUED", 8: "FAILED", 10: "GENERATING"}
    return {
        "audio_id": f"user:1-pixverse:{EMAIL}-speech:{n}",
        "audio_status": status,
        "audio_status_name": names[status],
        "audio_status_final": status in (1, 8),
        "duration": 2.5,
        "created_at": "2026-06-23T12:00:00Z",
        **fields,
    }


def serve(router: respx.MockRouter, *records: dict[str, Any]) -> tuple[respx.Route, respx.Route]:
    """Answer the list with ``records`` and each GET by id with its record."""
    by_id = {record["audio_id"]: record for record in records}
    listing = router.get(LIST_PATH).mock(
        return_value=httpx.Response(200, json={"data": list(records), "has_more": False})
    )

    def one(request: httpx.Request) -> httpx.Response:
        audio_id = request.url.path.rsplit("/", 1)[1]
        return httpx.Response(200, json=by_id[audio_id])

    return listing, router.get(url__regex=r"/pixverse/speech/[^/]+$").mock(side_effect=one)


async def test_completed_job_with_odd_duration_ends_the_wait(
    api: AsyncSpeechAPI, router: respx.MockRouter
) -> None:
    """A COMPLETED job with duration "3s" ends wait_until_final with that job, at the first poll."""
    record = job(1, duration="3s")
    _, gets = serve(router, record)
    speech = await api.wait_until_final(record["audio_id"], timeout=60)
    assert speech.is_completed
    assert speech.audio_id == record["audio_id"]
    assert speech.duration is None
    assert speech.invalid_fields == {"duration": "3s"}
    assert gets.call_count == 1


@pytest.mark.parametrize(
    "odd", [{"bitrate": 127.9}, {"sample_rate": "44100"}, {"channel": "mono"}, {"url": 7}]
)
async def test_every_wait_returns_the_job_despite_odd_fields(
    api: AsyncSpeechAPI, router: respx.MockRouter, odd: dict[str, Any]
) -> None:
    """wait_until_final, wait_many and as_completed all return a final job with an odd field."""
    first, second = job(1, **odd), job(2, status=8, **odd)
    serve(router, first, second)
    ids = [first["audio_id"], second["audio_id"]]
    assert (await api.wait_until_final(ids[0], timeout=60)).invalid_fields == odd
    many = await api.wait_many(ids, timeout=60)
    assert [s.audio_id for s in many if isinstance(s, Speech)] == ids
    assert [s.invalid_fields for s in many if isinstance(s, Speech)] == [odd, odd]
    seen = {audio_id: result async for audio_id, result in api.as_completed(ids, timeout=60)}
    assert {k: isinstance(v, Speech) and v.is_final for k, v in seen.items()} == dict.fromkeys(
        ids, True
    )


async def test_list_page_skips_a_bad_essential_record_and_counts_it(
    api: AsyncSpeechAPI, router: respx.MockRouter, warnings_logged: LogWarnings
) -> None:
    """A list page with one bad-essential record yields the others and counts the skip."""
    bad = job(2, audio_status="done")
    serve(router, job(3), bad, job(1, duration="3s"))
    page = await api.list()
    assert [s.audio_id for s in page.data] == [job(3)["audio_id"], job(1)["audio_id"]]
    assert page.skipped == 1
    assert page.invalid_fields == {"data[1]": bad}
    assert [s.audio_id async for s in api.iter_speech()] == [s.audio_id for s in page.data]
    skips = [line for line in warnings_logged.lines if "data[1]" in line]
    assert skips
    assert all(bad["audio_id"] in line and "audio_status" in line for line in skips)


async def test_list_record_without_id_is_skipped(
    api: AsyncSpeechAPI, router: respx.MockRouter
) -> None:
    """A list record without an audio_id is not a job: skipped and counted, never yielded."""
    nameless = {"audio_status": 1}
    router.get(LIST_PATH).mock(
        return_value=httpx.Response(200, json={"data": [job(1), nameless], "has_more": False})
    )
    page = await api.list()
    assert [s.audio_id for s in page.data] == [job(1)["audio_id"]]
    assert (page.skipped, page.invalid_fields) == (1, {"data[1]": nameless})


async def test_drift_warning_once_per_field_per_client(
    router: respx.MockRouter, warnings_logged: LogWarnings
) -> None:
    """A dropped field is a WARNING once per field name per client, naming field and value."""
    record = job(1, duration="3s", bitrate="high")
    serve(router, record)
    async with httpx.AsyncClient() as http:
        for _ in range(2):  # two clients: each says it once
            async with AsyncSpeechAPI(TOKEN, http_client=http) as api:
                for _ in range(3):
                    await api.get(record["audio_id"])
                await api.list()
    duration = [line for line in warnings_logged.lines if "Speech.duration" in line]
    bitrate = [line for line in warnings_logged.lines if "Speech.bitrate" in line]
    assert len(duration) == len(bitrate) == 2
    assert all("'3s'" in line and "invalid_fields" in line for line in duration)
    assert len(warnings_logged.lines) == 4


async def test_drift_warning_never_shows_the_token(
    api: AsyncSpeechAPI, router: respx.MockRouter, warnings_logged: LogWarnings
) -> None:
    """A dropped value that echoes the token is masked in the WARNING (the fixture checks)."""
    serve(router, job(1, duration=TOKEN))
    speech = await api.get(job(1)["audio_id"])
    assert speech.invalid_fields == {"duration": TOKEN}
    assert [line for line in warnings_logged.lines if "Speech.duration" in line]


@pytest.mark.parametrize(
    ("field", "value"),
    [("audio_id", 5), ("audio_status", "1"), ("audio_status", 2.5), ("audio_status_final", 1)],
)
async def test_essential_field_of_wrong_type_is_still_a_decode_error(
    api: AsyncSpeechAPI, router: respx.MockRouter, field: str, value: object
) -> None:
    """get() raises ResponseDecodeError naming an essential field of the wrong type."""
    router.get(url__regex=r"/pixverse/speech/x$").mock(
        return_value=httpx.Response(200, json={**job(1), field: value})
    )
    with pytest.raises(ResponseDecodeError) as info:
        await api.get("x")
    assert info.value.field == field


async def test_get_fills_in_the_requested_id(api: AsyncSpeechAPI, router: respx.MockRouter) -> None:
    """A record without audio_id (absent or null) gets the id that was asked for."""
    body = {k: v for k, v in job(1).items() if k != "audio_id"}
    router.get(url__regex=r"/pixverse/speech/x$").mock(
        side_effect=[
            httpx.Response(200, json=body),
            httpx.Response(200, json={**body, "audio_id": None}),
        ]
    )
    assert (await api.get("x")).audio_id == "x"
    assert (await api.get("x")).audio_id == "x"


async def test_get_and_wait_accept_a_speech(api: AsyncSpeechAPI, router: respx.MockRouter) -> None:
    """get() and wait_until_final() take a Speech and use its audio_id."""
    record = job(1)
    _, gets = serve(router, record)
    known = Speech(audio_id=record["audio_id"])
    assert (await api.get(known)).is_completed
    assert (await api.wait_until_final(known, timeout=60)).audio_id == known.audio_id
    assert [call.request.url.path.rsplit("/", 1)[1] for call in gets.calls] == [known.audio_id] * 2


@pytest.mark.parametrize("bad", [Speech(audio_id=" "), 5])
async def test_get_refuses_a_bad_speech_or_id(api: AsyncSpeechAPI, bad: object) -> None:
    """A Speech with a blank id, or a non-id, is refused naming audio_id before any request."""
    with pytest.raises((TypeError, ValueError), match="audio_id"):
        await api.get(bad)  # type: ignore[arg-type]
