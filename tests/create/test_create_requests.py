"""POST speech/create on the wire: form encoding, decoding, and the non-idempotent retry rules."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
import respx

from pixverse_speech import (
    APIConnectionError,
    APIError,
    APITimeoutError,
    AsyncSpeechAPI,
    AudioStatus,
    BadRequestError,
    RateLimitError,
    ResponseDecodeError,
    ServerError,
    Speech,
)

from ._forms import form_fields

pytestmark = pytest.mark.anyio

TEXT = "Use API dot net."
VOICE = "minimax_english_radiant_girl"
PATH = "pixverse/speech/create"
CREATED = {"audio_id": "user:1-pixverse:me@example.com-speech:42"}


def _fields(route: respx.Route, index: int = -1) -> dict[str, str]:
    request = route.calls[index].request
    return form_fields(request.headers["content-type"], request.content)


def _created() -> httpx.Response:
    return httpx.Response(200, json=CREATED)


# -- encoding ----------------------------------------------------------------------------------


async def test_minimax_request_is_multipart_with_wire_names(
    api: AsyncSpeechAPI, router: respx.MockRouter, wire: Any
) -> None:
    """Every MiniMax option goes as a plain multipart field under the API's name."""
    route = router.post(PATH).mock(return_value=_created())
    await api.create(
        TEXT,
        VOICE,
        model="speech-2.8-turbo",
        email="me@example.com",
        language_code="en",
        speed=1.25,
        volume=5,
        pitch=-3,
        emotion="happy",
        reply_url="https://example.com/hook?x=1",
        reply_ref="order-7",
        max_jobs=4,
    )
    request = route.calls.last.request
    assert request.method == "POST"
    assert str(request.url) == wire.BASE_URL + PATH
    assert request.headers["authorization"] == f"Bearer {wire.TOKEN}"
    assert request.headers["content-type"].startswith("multipart/form-data; boundary=")
    assert _fields(route) == {
        "text": TEXT,
        "voice_id": VOICE,
        "model": "speech-2.8-turbo",
        "email": "me@example.com",
        "language_code": "en",
        "speed": "1.25",
        "volume": "5",
        "pitch": "-3",
        "emotion": "happy",
        "replyUrl": "https://example.com/hook?x=1",
        "replyRef": "order-7",
        "maxJobs": "4",
    }


@pytest.mark.parametrize(("boost", "sent"), [(True, "true"), (False, "false")])
async def test_elevenlabs_request_encodes_numbers_and_booleans_as_text(
    api: AsyncSpeechAPI, router: respx.MockRouter, boost: bool, sent: str
) -> None:
    """Numbers go in their shortest form (1.0 as "1") and booleans as "true"/"false"."""
    route = router.post(PATH).mock(return_value=_created())
    await api.create(
        TEXT,
        "eleven_voice",
        model="eleven-multilingual-v2",
        speed=1.0,
        stability=0.5,
        similarity_boost=0.75,
        style=0,
        use_speaker_boost=boost,
    )
    assert _fields(route) == {
        "text": TEXT,
        "voice_id": "eleven_voice",
        "model": "eleven-multilingual-v2",
        "speed": "1",
        "stability": "0.5",
        "similarity_boost": "0.75",
        "style": "0",
        "use_speaker_boost": sent,
    }


async def test_options_left_as_none_are_not_sent(
    api: AsyncSpeechAPI, router: respx.MockRouter
) -> None:
    """Only text and voice_id go when nothing else is given: the API applies its defaults."""
    route = router.post(PATH).mock(return_value=_created())
    await api.create("Grüße, 世界! \U0001f600\nline two", VOICE)
    assert _fields(route) == {"text": "Grüße, 世界! \U0001f600\nline two", "voice_id": VOICE}


async def test_client_email_is_not_applied_to_create(router: respx.MockRouter, wire: Any) -> None:
    """The client's default email is for list calls; create lets the API pick an account."""
    route = router.post(PATH).mock(return_value=_created())
    async with AsyncSpeechAPI(wire.TOKEN, email="default@example.com") as api:
        await api.create(TEXT, VOICE)
    assert "email" not in _fields(route)


# -- decoding ----------------------------------------------------------------------------------


async def test_full_job_record_is_decoded(
    api: AsyncSpeechAPI, router: respx.MockRouter, wire: Any
) -> None:
    """Whatever job fields the answer carries are decoded into the Speech."""
    body = wire.record(5, audio_id="job-1", model="speech-2.8-hd", prompt=TEXT, credits=1)
    body["created_at"] = "2026-06-23T12:34:56Z"
    router.post(PATH).mock(return_value=httpx.Response(200, json=body))
    speech = await api.create(TEXT, VOICE)
    assert speech.audio_id == "job-1"
    assert speech.audio_status is AudioStatus.QUEUED
    assert speech.model == "speech-2.8-hd"
    assert speech.prompt == TEXT
    assert speech.created_at is not None
    assert speech.created_at.tzinfo is not None
    assert not speech.is_final


async def test_bare_audio_id_is_enough(api: AsyncSpeechAPI, router: respx.MockRouter) -> None:
    """An answer with only audio_id gives a Speech with that id and nothing else."""
    router.post(PATH).mock(return_value=_created())
    assert await api.create(TEXT, VOICE) == Speech(audio_id=CREATED["audio_id"])


@pytest.mark.parametrize(
    "body",
    [{}, {"audio_id": ""}, {"audio_id": "  "}, {"audio_id": 42}, {"id": "x"}, [CREATED], "ok"],
)
async def test_answer_without_audio_id_is_a_decode_error(
    api: AsyncSpeechAPI, router: respx.MockRouter, body: Any
) -> None:
    """A 2xx without a usable audio_id is a ResponseDecodeError: the job may exist."""
    route = router.post(PATH).mock(return_value=httpx.Response(200, json=body))
    with pytest.raises(ResponseDecodeError) as info:
        await api.create(TEXT, VOICE)
    assert info.value.field == "audio_id"
    assert info.value.job_may_exist is True
    assert "may exist" in str(info.value)
    assert route.call_count == 1


async def test_non_json_answer_is_a_decode_error_and_not_retried(
    api: AsyncSpeechAPI, router: respx.MockRouter
) -> None:
    """A 2xx body that is not JSON is not retried: the job was most likely created."""
    route = router.post(PATH).mock(return_value=httpx.Response(200, text="<html>ok</html>"))
    with pytest.raises(ResponseDecodeError) as info:
        await api.create(TEXT, VOICE)
    assert info.value.job_may_exist is True
    assert route.call_count == 1


async def test_bad_extra_field_keeps_the_job_id(
    api: AsyncSpeechAPI, router: respx.MockRouter, log_lines: list[str]
) -> None:
    """An extra field of a wrong type is logged and dropped, never losing the created id."""
    router.post(PATH).mock(
        return_value=httpx.Response(200, json={"audio_id": "job-9", "duration": "long"})
    )
    speech = await api.create(TEXT, VOICE)
    assert speech == Speech(audio_id="job-9", invalid_fields={"duration": "long"})
    assert any("job-9" in line and "duration" in line for line in log_lines)


# -- retry rules: what the mock received -------------------------------------------------------


@pytest.mark.parametrize("error", [httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout])
async def test_connection_never_made_is_retried(
    api: AsyncSpeechAPI, router: respx.MockRouter, clock: Any, error: type[Exception]
) -> None:
    """A connection that was never established is retried: the API never saw the request."""
    route = router.post(PATH).mock(side_effect=[error("no route"), error("no route"), _created()])
    speech = await api.create(TEXT, VOICE)
    assert speech.audio_id == CREATED["audio_id"]
    assert route.call_count == 3
    assert len(clock.sleeps) == 2
    assert _fields(route, 0) == _fields(route, 2) == {"text": TEXT, "voice_id": VOICE}


async def test_connection_never_made_exhausted_says_no_job(
    api: AsyncSpeechAPI, router: respx.MockRouter
) -> None:
    """When every try failed to connect, the error says the job was not created."""
    route = router.post(PATH).mock(side_effect=httpx.ConnectError("refused"))
    with pytest.raises(APIConnectionError) as info:
        await api.create(TEXT, VOICE)
    assert route.call_count == 4  # the first try and 3 retries
    assert info.value.job_may_exist is False
    assert "did not create the job" in str(info.value)


@pytest.mark.parametrize(
    ("error", "raised"),
    [
        (httpx.ReadTimeout, APITimeoutError),
        (httpx.WriteTimeout, APITimeoutError),
        (httpx.RemoteProtocolError, APIConnectionError),
        (httpx.ReadError, APIConnectionError),
        (httpx.WriteError, APIConnectionError),
    ],
)
async def test_failure_after_sending_is_not_retried(
    api: AsyncSpeechAPI,
    router: respx.MockRouter,
    clock: Any,
    error: type[Exception],
    raised: type[Exception],
) -> None:
    """A timeout after sending or a dropped connection is never retried: the job may exist."""
    route = router.post(PATH).mock(side_effect=[error("gone"), _created()])
    with pytest.raises(raised) as info:
        await api.create(TEXT, VOICE)
    assert route.call_count == 1
    assert clock.sleeps == []
    assert isinstance(info.value.__cause__, error)
    assert info.value.job_may_exist is True
    assert "the job may exist" in str(info.value)


@pytest.mark.parametrize("status", [500, 502, 503, 504, 596, 408])
async def test_server_error_is_not_retried(
    api: AsyncSpeechAPI, router: respx.MockRouter, wire: Any, status: int
) -> None:
    """A 5xx (and a 408) is never retried for a create, and the job may exist."""
    route = router.post(PATH).mock(side_effect=[wire.error(status), _created()])
    with pytest.raises(APIError) as info:
        await api.create(TEXT, VOICE)
    assert route.call_count == 1
    assert info.value.status_code == status
    assert info.value.job_may_exist is True
    assert "may exist" in str(info.value)
    if status >= 500:
        assert isinstance(info.value, ServerError)


async def test_rate_limit_is_retried_after_retry_after(
    api: AsyncSpeechAPI, router: respx.MockRouter, wire: Any, clock: Any
) -> None:
    """A 429 refused the request, so it is retried after the server's Retry-After."""
    route = router.post(PATH).mock(
        side_effect=[wire.error(429, "busy", **{"Retry-After": "7"}), _created()]
    )
    speech = await api.create(TEXT, VOICE)
    assert speech.audio_id == CREATED["audio_id"]
    assert route.call_count == 2
    assert clock.sleeps == [7.0]


async def test_rate_limit_exhausted_says_no_job(
    api: AsyncSpeechAPI, router: respx.MockRouter, wire: Any
) -> None:
    """When every try met a 429, the RateLimitError says the job was not created."""
    route = router.post(PATH).mock(return_value=wire.error(429, "busy"))
    with pytest.raises(RateLimitError) as info:
        await api.create(TEXT, VOICE)
    assert route.call_count == 4
    assert info.value.job_may_exist is False


async def test_rate_limit_with_too_long_retry_after_is_raised_at_once(
    api: AsyncSpeechAPI, router: respx.MockRouter, wire: Any, clock: Any
) -> None:
    """A Retry-After above the policy's cap is not waited for."""
    route = router.post(PATH).mock(return_value=wire.error(429, "busy", **{"Retry-After": "600"}))
    with pytest.raises(RateLimitError) as info:
        await api.create(TEXT, VOICE)
    assert route.call_count == 1
    assert clock.sleeps == []
    assert info.value.retry_after == 600
    assert info.value.job_may_exist is False


@pytest.mark.parametrize("status", [400, 401, 402, 404, 412, 422])
async def test_client_error_is_not_retried_and_no_job(
    api: AsyncSpeechAPI, router: respx.MockRouter, wire: Any, status: int
) -> None:
    """A 4xx answer is final: not retried, and the job was not created."""
    route = router.post(PATH).mock(side_effect=[wire.error(status, "nope"), _created()])
    with pytest.raises(APIError) as info:
        await api.create(TEXT, VOICE)
    assert route.call_count == 1
    assert info.value.job_may_exist is False
    assert info.value.message == "nope"
    assert str(info.value).startswith(f"HTTP {status}: nope")
    assert "did not create the job" in str(info.value)


async def test_bad_request_error_from_the_api(
    api: AsyncSpeechAPI, router: respx.MockRouter, wire: Any
) -> None:
    """The API's 400 (e.g. a setting of the wrong family it knows of) is a BadRequestError."""
    router.post(PATH).mock(return_value=wire.error(400, "volume is not supported"))
    with pytest.raises(BadRequestError, match="volume is not supported"):
        await api.create(TEXT, VOICE, model="speech-3.0-future", volume=3)


async def test_get_errors_do_not_claim_anything_about_jobs(
    api: AsyncSpeechAPI, router: respx.MockRouter, wire: Any
) -> None:
    """job_may_exist stays None on errors of requests that create nothing."""
    router.get("pixverse/speech/x").mock(return_value=wire.error(404, "Speech x not found"))
    with pytest.raises(APIError) as info:
        await api.get("x")
    assert info.value.job_may_exist is None
    assert "job" not in str(info.value).replace("Speech x not found", "")
