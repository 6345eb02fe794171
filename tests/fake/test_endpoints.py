"""The fake's endpoints: job lifecycle, list, retrieve, create validation, voices and models."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import httpx
import pytest

from pixverse_speech.testing import FakeClock, FakeSpeechAPI

pytestmark = pytest.mark.anyio

RADIANT = "minimax_english_radiant_girl"
RACHEL = "elevenlabs_rachel"

# The keys of the upstream examples (list-speech.txt and retrieve-speech.txt), in their order.
DOC_EXAMPLE_KEYS = [
    "audio_id", "asset_id", "audio_status", "status", "create_mode", "provider", "model",
    "voice_id", "voice_name", "language_code", "prompt", "url", "name", "duration", "credits",
    "created_at", "updated_at", "audio_status_name", "audio_status_final",
]  # fmt: skip


def speech(audio_id: str) -> str:
    return "pixverse/speech/" + quote(audio_id, safe=":@")


async def test_job_lifecycle_follows_the_clock(
    connect: Any, fake: FakeSpeechAPI, clock: FakeClock
) -> None:
    """A job reads QUEUED, then GENERATING, then COMPLETED with url/size as the clock moves."""
    audio_id = fake.add_job(prompt="May the Force be with you.")
    assert audio_id == "user:1-pixverse:fake@example.com-speech:11223344"
    async with connect() as client:
        queued = (await client.get(speech(audio_id))).json()
        assert (queued["audio_status"], queued["status"]) == (5, "queued")
        assert (queued["audio_status_name"], queued["audio_status_final"]) == ("QUEUED", False)
        assert "url" not in queued
        assert "file_size" not in queued
        clock.advance(1.0)
        generating = (await client.get(speech(audio_id))).json()
        assert (generating["audio_status"], generating["status"]) == (10, "generating")
        assert generating["audio_status_final"] is False
        assert generating["updated_at"] == "2026-06-23T12:00:01Z"
        clock.advance(5.0)
        done = (await client.get(speech(audio_id))).json()
    assert (done["audio_status"], done["status"], done["audio_status_name"]) == (
        1,
        "finish",
        "COMPLETED",
    )
    assert done["audio_status_final"] is True
    assert done["created_at"] == "2026-06-23T12:00:00Z"
    assert done["updated_at"] == "2026-06-23T12:00:06Z"
    assert done["url"].endswith("/media/11223344.mp3")
    assert done["duration"] == 3
    assert done["file_size"] == len(fake.media_bytes(audio_id))
    assert done == fake.job(audio_id)


async def test_completed_record_has_the_doc_example_fields(
    inproc: Any, fake: FakeSpeechAPI, clock: FakeClock
) -> None:
    """A completed job's list record has exactly the documented example's keys, in order."""
    fake.add_job()
    clock.advance(60)
    async with inproc() as client:
        page = (await client.get("pixverse/speech/")).json()
    record = page["data"][0]
    assert list(record) == DOC_EXAMPLE_KEYS
    assert record["create_mode"] == "voice"
    assert record["provider"] == "minimax"
    assert record["voice_name"] == "Radiant Girl"
    assert record["name"] == "PixVerse_Speech_11223344.mp3"


async def test_failed_job_has_fail_fields_on_retrieve_only(
    inproc: Any, fake: FakeSpeechAPI, clock: FakeClock
) -> None:
    """A FAILED job carries fail_code/fail_reason from retrieve, not from the list."""
    audio_id = fake.add_job(outcome="failed", fail_code="E42", fail_reason="backend hiccup")
    clock.advance(6)
    async with inproc() as client:
        one = (await client.get(speech(audio_id))).json()
        listed = (await client.get("pixverse/speech/")).json()["data"][0]
    assert (one["audio_status"], one["status"], one["audio_status_final"]) == (8, "failed", True)
    assert (one["fail_code"], one["fail_reason"]) == ("E42", "backend hiccup")
    assert "url" not in one
    assert listed["audio_status"] == 8
    assert "fail_code" not in listed
    assert "fail_reason" not in listed


async def test_completed_audio_downloads_without_token(
    connect: Any, fake: FakeSpeechAPI, clock: FakeClock
) -> None:
    """A completed job's url serves mp3 bytes of file_size length, with no token needed."""
    audio_id = fake.add_job(queued_for=0, generating_for=0)
    async with connect() as client:
        record = (await client.get(speech(audio_id))).json()
    async with connect(auth=False) as bare:
        response = await bare.get(record["url"])
    assert response.status_code == 200
    assert response.headers["content-type"] == "audio/mpeg"
    assert response.content.startswith(b"ID3")
    assert len(response.content) == record["file_size"]
    if connect.served:
        assert record["url"].startswith("http://127.0.0.1:")
    else:
        assert record["url"].startswith("https://media.example.invalid/media/")
    assert "authorization" not in fake.requests[-1].headers


async def test_media_of_unfinished_job_is_404(inproc: Any, fake: FakeSpeechAPI) -> None:
    """The media route answers 404 until the job has COMPLETED."""
    fake.add_job()
    async with inproc(auth=False) as client:
        response = await client.get("https://media.example.invalid/media/11223344.mp3")
    assert response.status_code == 404


async def test_list_is_newest_first_and_pages_by_offset(inproc: Any, fake: FakeSpeechAPI) -> None:
    """The list returns newest first; next_offset is offset+limit, has_more says if more remain."""
    ids = [fake.add_job(prompt=f"clip {n}") for n in range(5)]
    async with inproc() as client:
        first = (await client.get("pixverse/speech/", params={"limit": 2})).json()
        second = (await client.get("pixverse/speech/", params={"limit": 2, "offset": 2})).json()
        last = (await client.get("pixverse/speech/", params={"limit": 2, "offset": 4})).json()
        beyond = (await client.get("pixverse/speech/", params={"offset": 9})).json()
    assert [r["audio_id"] for r in first["data"]] == ids[::-1][:2]
    assert (first["next_offset"], first["has_more"]) == (2, True)
    assert [r["audio_id"] for r in second["data"]] == ids[::-1][2:4]
    assert [r["audio_id"] for r in last["data"]] == ids[:1]
    assert (last["next_offset"], last["has_more"]) == (6, False)
    assert beyond == {"data": [], "next_offset": 59, "has_more": False}


async def test_list_limit_defaults_to_50(inproc: Any, fake: FakeSpeechAPI) -> None:
    """Without limit the list returns 50 records and says more remain."""
    for _ in range(53):
        fake.add_job()
    async with inproc() as client:
        page = (await client.get("pixverse/speech/")).json()
    assert len(page["data"]) == 50
    assert (page["next_offset"], page["has_more"]) == (50, True)


async def test_list_email_rules_with_several_accounts(inproc: Any, clock: FakeClock) -> None:
    """With several accounts, list needs a known email (else 400) and shows that account's jobs."""
    fake = FakeSpeechAPI(clock=clock, accounts=("a@example.com", "b@example.com"))
    a_id = fake.add_job(email="a@example.com")
    b_id = fake.add_job(email="b@example.com")
    async with inproc(fake) as client:
        missing = await client.get("pixverse/speech/")
        unknown = await client.get("pixverse/speech/", params={"email": "c@example.com"})
        only_b = await client.get("pixverse/speech/", params={"email": "b@example.com"})
        only_a = await client.get("pixverse/speech/?email=a@example.com")
    assert missing.status_code == 400
    assert missing.json()["code"] == 400
    assert "email" in missing.json()["error"]
    assert unknown.status_code == 400
    assert [r["audio_id"] for r in only_b.json()["data"]] == [b_id]
    assert [r["audio_id"] for r in only_a.json()["data"]] == [a_id]
    assert b_id.startswith("user:1-pixverse:b@example.com-speech:")


@pytest.mark.parametrize(
    "params",
    [
        {"limit": "-1"},
        {"limit": "abc"},
        {"limit": "1.5"},
        {"limit": "0"},
        {"offset": "-1"},
        {"offset": "x"},
    ],
)
async def test_list_rejects_bad_limit_or_offset(inproc: Any, params: dict[str, str]) -> None:
    """limit and offset must be non-negative integers (limit at least 1), else 400."""
    async with inproc() as client:
        response = await client.get("pixverse/speech/", params=params)
    assert response.status_code == 400
    assert response.json()["code"] == 400


async def test_retrieve_unknown_is_404_without_code(connect: Any) -> None:
    """An unknown audio_id gets 404 {"error": "Speech <id> not found"} and no code."""
    audio_id = "user:1-pixverse:fake@example.com-speech:999"
    async with connect() as client:
        response = await client.get(speech(audio_id))
    assert response.status_code == 404
    assert response.json() == {"error": f"Speech {audio_id} not found"}


async def test_retrieve_decodes_one_path_segment(inproc: Any, fake: FakeSpeechAPI) -> None:
    """The id is percent-decoded as one segment: %2F stays inside it, a raw / is another route."""
    audio_id = fake.add_job()
    async with inproc() as client:
        encoded = await client.get("pixverse/speech/" + quote(audio_id, safe=""))
        slash = await client.get("pixverse/speech/a%2Fb")
        two_segments = await client.get("pixverse/speech/a/b")
    assert encoded.json()["audio_id"] == audio_id
    assert slash.json() == {"error": "Speech a/b not found"}
    assert two_segments.status_code == 404
    assert two_segments.json()["code"] == 404


async def test_removed_job_is_404(inproc: Any, fake: FakeSpeechAPI) -> None:
    """remove_job makes later retrieves answer 404 and drops the job from the list."""
    audio_id = fake.add_job()
    fake.remove_job(audio_id)
    async with inproc() as client:
        response = await client.get(speech(audio_id))
        page = (await client.get("pixverse/speech/")).json()
    assert response.status_code == 404
    assert page["data"] == []
    with pytest.raises(KeyError):
        fake.job(audio_id)


async def test_create_accepts_json_form_and_multipart(connect: Any, fake: FakeSpeechAPI) -> None:
    """POST speech/create takes JSON, urlencoded or multipart bodies and returns the new job."""
    fields = {"text": "Hello there.", "voice_id": RADIANT, "pitch": "2", "emotion": "happy"}
    files = {name: (None, value) for name, value in fields.items()}
    async with connect() as client:
        responses = [
            await client.post("pixverse/speech/create", json=fields),
            await client.post("pixverse/speech/create", data=fields),
            await client.post("pixverse/speech/create", files=files),
        ]
    assert [r.status_code for r in responses] == [200, 200, 200]
    bodies = [r.json() for r in responses]
    assert [b["audio_id"] for b in bodies] == fake.audio_ids
    assert bodies[0]["audio_id"] == "user:1-pixverse:fake@example.com-speech:11223344"
    assert bodies[2]["audio_id"] == "user:1-pixverse:fake@example.com-speech:11223346"
    for body in bodies:
        assert (body["audio_status"], body["prompt"]) == (5, "Hello there.")
        assert body["model"] == "speech-2.8-hd"
    assert [r.body for r in fake.requests] == [fields, fields, fields]


TOO_LONG = {"speech-2.8-hd": 10_000, "eleven-v3": 5_000, "eleven-turbo-v2.5": 40_000}


def _voice_for(model: str) -> str:
    return RACHEL if model.startswith("eleven") else RADIANT


BAD_CREATES: list[tuple[str, dict[str, Any], str]] = [
    ("no text", {"text": None, "voice_id": RADIANT}, "text"),
    ("blank text", {"text": "  ", "voice_id": RADIANT}, "text"),
    ("no voice", {"text": "hi"}, "voice_id"),
    ("unknown model", {"text": "hi", "voice_id": RADIANT, "model": "speech-9"}, "model"),
    ("unknown voice", {"text": "hi", "voice_id": "nobody"}, "voice"),
    ("voice of other family", {"text": "hi", "voice_id": RACHEL}, "voice"),
    *[
        (
            f"text too long for {m}",
            {"text": "x" * (n + 1), "voice_id": _voice_for(m), "model": m},
            "text",
        )
        for m, n in TOO_LONG.items()
    ],
    ("volume on elevenlabs", {"model": "eleven-v3", "voice_id": RACHEL, "volume": 5}, "volume"),
    ("pitch on elevenlabs", {"model": "eleven-v3", "voice_id": RACHEL, "pitch": 1}, "pitch"),
    (
        "emotion on elevenlabs",
        {"model": "eleven-v3", "voice_id": RACHEL, "emotion": "sad"},
        "emotion",
    ),
    ("stability on minimax", {"voice_id": RADIANT, "stability": 0.5}, "stability"),
    ("similarity on minimax", {"voice_id": RADIANT, "similarity_boost": 0.5}, "similarity_boost"),
    ("style on minimax", {"voice_id": RADIANT, "style": 0.5}, "style"),
    ("style on eleven-v3", {"model": "eleven-v3", "voice_id": RACHEL, "style": 0.5}, "style"),
    (
        "boost on turbo",
        {"model": "eleven-turbo-v2.5", "voice_id": RACHEL, "use_speaker_boost": True},
        "use_speaker_boost",
    ),
    ("volume above 10", {"voice_id": RADIANT, "volume": 10.5}, "volume"),
    ("volume below 0", {"voice_id": RADIANT, "volume": -1}, "volume"),
    ("pitch above 12", {"voice_id": RADIANT, "pitch": 13}, "pitch"),
    ("pitch not integer", {"voice_id": RADIANT, "pitch": 1.5}, "pitch"),
    ("unknown emotion", {"voice_id": RADIANT, "emotion": "bored"}, "emotion"),
    ("minimax speed low", {"voice_id": RADIANT, "speed": 0.4}, "speed"),
    ("minimax speed high", {"voice_id": RADIANT, "speed": 2.1}, "speed"),
    ("eleven speed low", {"model": "eleven-v3", "voice_id": RACHEL, "speed": 0.6}, "speed"),
    ("eleven speed high", {"model": "eleven-v3", "voice_id": RACHEL, "speed": 1.3}, "speed"),
    (
        "stability above 1",
        {"model": "eleven-v3", "voice_id": RACHEL, "stability": 1.5},
        "stability",
    ),
    (
        "boost not boolean",
        {"model": "eleven-multilingual-v2", "voice_id": RACHEL, "use_speaker_boost": "maybe"},
        "use_speaker_boost",
    ),
    (
        "language on eleven-v3",
        {"model": "eleven-v3", "voice_id": RACHEL, "language_code": "en"},
        "language_code",
    ),
    ("unknown language", {"voice_id": RADIANT, "language_code": "xx"}, "language_code"),
    (
        "replyUrl too long",
        {"voice_id": RADIANT, "replyUrl": "https://e.x/" + "a" * 1013},
        "replyUrl",
    ),
    ("replyRef too long", {"voice_id": RADIANT, "replyRef": "r" * 1025}, "replyRef"),
    ("maxJobs 0", {"voice_id": RADIANT, "maxJobs": 0}, "maxJobs"),
    ("maxJobs 9", {"voice_id": RADIANT, "maxJobs": 9}, "maxJobs"),
    ("unknown email", {"voice_id": RADIANT, "email": "who@example.com"}, "who@example.com"),
    ("speed not a number", {"voice_id": RADIANT, "speed": "fast"}, "speed"),
]


@pytest.mark.parametrize(
    ("fields", "mentions"), [pytest.param(f, m, id=i) for i, f, m in BAD_CREATES]
)
async def test_create_rejects_invalid_requests(
    inproc: Any, fake: FakeSpeechAPI, fields: dict[str, Any], mentions: str
) -> None:
    """Each documented create rule answers 400 with {"error", "code": 400} and makes no job."""
    body = {"text": "Hello.", **fields}
    async with inproc() as client:
        response = await client.post("pixverse/speech/create", json=body)
    assert response.status_code == 400, response.text
    assert response.json()["code"] == 400
    assert mentions in response.json()["error"]
    assert fake.audio_ids == []


GOOD_CREATES: list[tuple[str, dict[str, Any]]] = [
    ("volume bounds", {"voice_id": RADIANT, "volume": 0}),
    ("volume 10", {"voice_id": RADIANT, "volume": "10"}),
    ("pitch bounds", {"voice_id": RADIANT, "pitch": -12}),
    ("pitch 12 as text", {"voice_id": RADIANT, "pitch": "12"}),
    ("minimax speed bounds", {"voice_id": RADIANT, "speed": 0.5, "model": "speech-2.8-turbo"}),
    ("minimax speed 2", {"voice_id": RADIANT, "speed": 2}),
    ("eleven speed bounds", {"model": "eleven-turbo-v2.5", "voice_id": RACHEL, "speed": 0.7}),
    ("eleven speed 1.2", {"model": "eleven-v3", "voice_id": RACHEL, "speed": 1.2}),
    (
        "multilingual extras",
        {
            "model": "eleven-multilingual-v2",
            "voice_id": RACHEL,
            "style": 1,
            "use_speaker_boost": "true",
            "stability": 0,
            "similarity_boost": 1,
        },
    ),
    ("language", {"voice_id": RADIANT, "language_code": "ja"}),
    (
        "reply fields at 1024",
        {"voice_id": RADIANT, "replyUrl": "https://e.x/" + "a" * 1012, "replyRef": "r" * 1024},
    ),
    ("maxJobs 8", {"voice_id": RADIANT, "maxJobs": 8}),
    ("email", {"voice_id": RADIANT, "email": "fake@example.com"}),
    *[
        (f"text at limit for {m}", {"text": "x" * n, "voice_id": _voice_for(m), "model": m})
        for m, n in TOO_LONG.items()
    ],
]


@pytest.mark.parametrize("fields", [pytest.param(f, id=i) for i, f in GOOD_CREATES])
async def test_create_accepts_values_at_the_limits(
    inproc: Any, fake: FakeSpeechAPI, fields: dict[str, Any]
) -> None:
    """Values on the documented boundaries are accepted (200 and a new job)."""
    async with inproc() as client:
        response = await client.post("pixverse/speech/create", json={"text": "Hello.", **fields})
    assert response.status_code == 200, response.text
    assert fake.audio_ids == [response.json()["audio_id"]]


async def test_create_rejects_unparsable_body(inproc: Any) -> None:
    """A body that is not the JSON or form it claims to be is a 400."""
    async with inproc() as client:
        bad_json = await client.post(
            "pixverse/speech/create",
            content=b"{not json",
            headers={"content-type": "application/json"},
        )
        bad_multipart = await client.post(
            "pixverse/speech/create",
            content=b"garbage",
            headers={"content-type": "multipart/form-data; boundary=xyz"},
        )
    assert bad_json.status_code == 400
    assert bad_multipart.status_code == 400


async def test_create_answers_429_at_max_jobs(
    connect: Any, fake: FakeSpeechAPI, clock: FakeClock
) -> None:
    """The account's (max_jobs+1)th unfinished job is a 429 with code 429; finishing frees it."""
    body = {"text": "Hi.", "voice_id": RADIANT}
    async with connect() as client:
        for _ in range(3):
            assert (await client.post("pixverse/speech/create", json=body)).status_code == 200
        busy = await client.post("pixverse/speech/create", json=body)
        raised = await client.post("pixverse/speech/create", json={**body, "maxJobs": 4})
        clock.advance(6)
        again = await client.post("pixverse/speech/create", json=body)
    assert busy.status_code == 429
    assert busy.json()["code"] == 429
    assert "retry-after" not in busy.headers
    assert raised.status_code == 200
    assert again.status_code == 200
    assert len(fake.audio_ids) == 5


async def test_create_429_carries_retry_after_when_configured(
    inproc: Any, clock: FakeClock
) -> None:
    """With retry_after set, the fake's own 429 carries a Retry-After header."""
    fake = FakeSpeechAPI(clock=clock, max_jobs=1, retry_after=7)
    fake.add_job()
    async with inproc(fake) as client:
        response = await client.post(
            "pixverse/speech/create", json={"text": "Hi.", "voice_id": RADIANT}
        )
    assert response.status_code == 429
    assert response.headers["retry-after"] == "7"


async def test_create_without_email_picks_an_account_with_capacity(
    inproc: Any, clock: FakeClock
) -> None:
    """Without email, create uses the first account with capacity, then 429 when all are busy."""
    fake = FakeSpeechAPI(clock=clock, accounts=("a@example.com", "b@example.com"), max_jobs=1)
    body = {"text": "Hi.", "voice_id": RADIANT}
    async with inproc(fake) as client:
        first = await client.post("pixverse/speech/create", data=body)
        second = await client.post("pixverse/speech/create", data=body)
        third = await client.post("pixverse/speech/create", data=body)
        targeted = await client.post(
            "pixverse/speech/create", data={**body, "email": "b@example.com"}
        )
    assert "-pixverse:a@example.com-" in first.json()["audio_id"]
    assert "-pixverse:b@example.com-" in second.json()["audio_id"]
    assert third.status_code == 429
    assert targeted.status_code == 429
    assert "b@example.com" in targeted.json()["error"]


async def test_fail_next_makes_created_jobs_fail(
    inproc: Any, fake: FakeSpeechAPI, clock: FakeClock
) -> None:
    """fail_next(n) makes the next n API-created jobs end FAILED, then they complete again."""
    fake.fail_next(1, fail_code="X1", fail_reason="nope")
    body = {"text": "Hi.", "voice_id": RADIANT}
    async with inproc() as client:
        failed = (await client.post("pixverse/speech/create", json=body)).json()["audio_id"]
        fine = (await client.post("pixverse/speech/create", json=body)).json()["audio_id"]
    clock.advance(6)
    assert fake.job(failed)["audio_status_name"] == "FAILED"
    assert fake.job(failed)["fail_code"] == "X1"
    assert fake.job(fine)["audio_status_name"] == "COMPLETED"


async def test_missing_or_wrong_token_is_401(connect: Any) -> None:
    """Every API route answers 401 {"error": "Unauthorized", "code": 401} without the token."""
    variants: list[dict[str, str]] = [
        {},
        {"Authorization": "Bearer user:1-wrong"},
        {"Authorization": "Basic user:1-fake-token"},
        {"Authorization": "Bearer"},
    ]
    for headers in variants:
        async with connect(auth=False, headers=headers) as client:
            for path in ("pixverse/speech/", "pixverse/speech/x", "pixverse/speech/models"):
                response = await client.get(path)
                assert response.status_code == 401
                assert response.json() == {"error": "Unauthorized", "code": 401}
            response = await client.post("pixverse/speech/create", json={"text": "Hi."})
            assert response.status_code == 401


async def test_token_none_turns_auth_off(inproc: Any, clock: FakeClock) -> None:
    """A fake made with token=None answers without any Authorization header."""
    fake = FakeSpeechAPI(clock=clock, token=None)
    async with inproc(fake, auth=False) as client:
        response = await client.get("pixverse/speech/models")
    assert response.status_code == 200


async def test_recorded_requests_never_keep_the_token(inproc: Any, fake: FakeSpeechAPI) -> None:
    """Recorded requests show Authorization as [REDACTED] and hold the token nowhere."""
    async with inproc() as client:
        await client.get("pixverse/speech/", params={"limit": 5})
    [recorded] = fake.requests
    assert recorded.headers["authorization"] == "[REDACTED]"
    assert (recorded.method, recorded.path, recorded.query) == (
        "GET",
        "/v2/pixverse/speech/",
        {"limit": "5"},
    )
    assert (recorded.status, recorded.fault, recorded.time) == (200, None, 0.0)
    assert "fake-token" not in repr(fake.requests)


async def test_unknown_routes_are_404_and_wrong_methods_405(inproc: Any) -> None:
    """Unknown paths answer 404 with an error body; a known path with the wrong method 405."""
    async with inproc() as client:
        outside = await client.get("other/thing")
        inside = await client.get("pixverse/music/")
        wrong_method = await client.get("pixverse/speech/create")
        post_list = await client.post("pixverse/speech/", json={})
    assert outside.status_code == 404
    assert inside.status_code == 404
    assert inside.json()["code"] == 404
    assert wrong_method.status_code == 405
    assert post_list.status_code == 405


async def test_voices_shape_and_filters(inproc: Any) -> None:
    """GET speech/voices lists voices with the documented fields, filtered by model and language."""
    async with inproc() as client:
        default = (await client.get("pixverse/speech/voices")).json()
        eleven = (await client.get("pixverse/speech/voices", params={"model": "eleven-v3"})).json()
        japanese = (await client.get("pixverse/speech/voices", params={"language": "ja"})).json()
        unknown = await client.get("pixverse/speech/voices", params={"model": "nope"})
    fields = {
        "voice_id", "provider_voice_id", "display_name", "provider", "gender", "age", "accent",
        "style_tags", "language",
    }  # fmt: skip
    assert default["voices"]
    for voice in default["voices"]:
        assert set(voice) == fields
        assert voice["provider"] == "minimax"
        assert isinstance(voice["style_tags"], list)
    assert {v["provider"] for v in eleven["voices"]} == {"elevenlabs"}
    assert [v["language"] for v in japanese["voices"]] == ["ja"]
    assert unknown.status_code == 400
    assert unknown.json()["code"] == 400


async def test_models_shape(connect: Any) -> None:
    """GET speech/models covers the five documented models with limits and credit formulas."""
    async with connect() as client:
        body = (await client.get("pixverse/speech/models")).json()
    assert body["default_model"] == "speech-2.8-hd"
    models = {m["model"]: m for group in body["provider_groups"] for m in group["models"]}
    assert {g["provider"] for g in body["provider_groups"]} == {"minimax", "elevenlabs"}
    assert {name: m["max_characters"] for name, m in models.items()} == {
        "speech-2.8-hd": 10_000,
        "speech-2.8-turbo": 10_000,
        "eleven-multilingual-v2": 10_000,
        "eleven-v3": 5_000,
        "eleven-turbo-v2.5": 40_000,
    }
    for name, model in models.items():
        assert set(model["credit_formula"]) == {"unit_characters", "unit_credits", "round_up"}
        assert isinstance(model["supported_language_codes"], list)
        assert ("emotions" in model) == name.startswith("speech-")
    assert "calm" in models["speech-2.8-hd"]["emotions"]


async def test_asgi_app_answers_through_httpx_asgi_transport(fake: FakeSpeechAPI) -> None:
    """The ASGI app is the same fake: httpx.ASGITransport reaches the same jobs."""
    audio_id = fake.add_job()
    transport = httpx.ASGITransport(app=fake.asgi_app)
    async with httpx.AsyncClient(
        transport=transport,
        base_url="http://fake/v2/",
        headers={"Authorization": "Bearer user:1-fake-token"},
    ) as client:
        response = await client.get(speech(audio_id))
    assert response.json()["audio_id"] == audio_id
