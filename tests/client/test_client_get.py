"""`get`: decoding a job, ids in paths, and mapping error answers to exceptions."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import anyio
import attrs
import httpx
import pytest
import respx

from pixverse_speech import (
    AccountError,
    APIError,
    AsyncSpeechAPI,
    AudioStatus,
    AuthenticationError,
    BadRequestError,
    InsufficientCreditsError,
    ModerationError,
    NotFoundError,
    PaymentRequiredError,
    RateLimitError,
    ResponseDecodeError,
    ServerError,
    Speech,
    SpeechError,
)

pytestmark = pytest.mark.anyio

FULL_RECORD = {
    "audio_id": "user:1-pixverse:me@example.com-speech:11223344",
    "asset_id": 11223344,
    "audio_status": 1,
    "status": "finish",
    "create_mode": "voice",
    "provider": "minimax",
    "model": "speech-2.8-hd",
    "voice_id": "minimax_english_radiant_girl",
    "voice_name": "Radiant Girl",
    "language_code": "en",
    "prompt": "May the Force be with you.",
    "path": "pixverse/audio/speech/11223344.mp3",
    "url": "https://media.pixverse.ai/pixverse/audio/speech/11223344.mp3",
    "name": "PixVerse_Speech_11223344.mp3",
    "duration": 3,
    "file_size": 48213,
    "format": "mp3",
    "sample_rate": 32000,
    "bitrate": 128000,
    "channel": 1,
    "credits": 1,
    "created_at": "2026-06-23T12:34:56Z",
    "updated_at": "2026-06-23T14:35:06+02:00",
    "fail_code": "500043",
    "fail_reason": "none really",
    "audio_status_name": "COMPLETED",
    "audio_status_final": True,
    "error": "",
}
AUDIO_ID = FULL_RECORD["audio_id"]


async def test_get_decodes_every_documented_field(api: AsyncSpeechAPI, router: respx.MockRouter):
    """Every field of the retrieve model is decoded with its documented type."""
    route = router.get(f"pixverse/speech/{AUDIO_ID}").mock(
        return_value=httpx.Response(200, json=FULL_RECORD)
    )
    speech = await api.get(AUDIO_ID)
    assert route.call_count == 1
    assert isinstance(speech, Speech)
    assert speech.audio_id == AUDIO_ID
    assert speech.asset_id == 11223344
    assert speech.audio_status is AudioStatus.COMPLETED
    assert speech.status == "finish"
    assert speech.create_mode == "voice"
    assert speech.provider == "minimax"
    assert speech.model == "speech-2.8-hd"
    assert speech.voice_id == "minimax_english_radiant_girl"
    assert speech.voice_name == "Radiant Girl"
    assert speech.language_code == "en"
    assert speech.prompt == "May the Force be with you."
    assert speech.path == "pixverse/audio/speech/11223344.mp3"
    assert speech.url == "https://media.pixverse.ai/pixverse/audio/speech/11223344.mp3"
    assert speech.name == "PixVerse_Speech_11223344.mp3"
    assert speech.duration == 3.0
    assert isinstance(speech.duration, float)
    assert speech.file_size == 48213
    assert speech.format == "mp3"
    assert speech.sample_rate == 32000
    assert speech.bitrate == 128000
    assert speech.channel == 1
    assert speech.credits == 1.0
    assert speech.created_at == datetime(2026, 6, 23, 12, 34, 56, tzinfo=timezone.utc)
    assert speech.created_at.tzinfo is not None
    assert speech.updated_at == datetime(2026, 6, 23, 12, 35, 6, tzinfo=timezone.utc)
    assert speech.updated_at.utcoffset() == timedelta(hours=2)
    assert speech.fail_code == "500043"
    assert speech.fail_reason == "none really"
    assert speech.audio_status_name == "COMPLETED"
    assert speech.audio_status_final is True
    assert speech.error == ""
    assert speech.is_final
    assert speech.is_completed
    assert not speech.is_failed


async def test_absent_fields_are_none(api: AsyncSpeechAPI, router: respx.MockRouter) -> None:
    """A record with only some fields decodes, every missing one None, the id the one asked for."""
    router.get("pixverse/speech/x").mock(return_value=httpx.Response(200, json={}))
    speech = await api.get("x")
    assert speech == Speech(audio_id="x")
    values = attrs.asdict(speech, filter=lambda a, _: a.name not in ("audio_id", "invalid_fields"))
    assert set(values.values()) == {None}
    assert speech.invalid_fields == {}
    assert speech.created_at is None
    assert not speech.is_final


async def test_unknown_fields_are_ignored(api: AsyncSpeechAPI, router: respx.MockRouter) -> None:
    """Fields the library does not know are ignored, not an error."""
    router.get("pixverse/speech/x").mock(
        return_value=httpx.Response(
            200, json={"audio_id": "x", "audio_status": 5, "brand_new": {"a": [1]}, "n": None}
        )
    )
    speech = await api.get("x")
    assert speech.audio_id == "x"
    assert speech.audio_status is AudioStatus.QUEUED
    assert not hasattr(speech, "brand_new")


async def test_naive_timestamp_is_read_as_utc(api: AsyncSpeechAPI, router: respx.MockRouter):
    """A timestamp without an offset is UTC, never local time."""
    router.get("pixverse/speech/x").mock(
        return_value=httpx.Response(200, json={"created_at": "2026-06-23T12:34:56"})
    )
    speech = await api.get("x")
    assert speech.created_at == datetime(2026, 6, 23, 12, 34, 56, tzinfo=timezone.utc)
    assert speech.created_at.tzinfo is not None


@pytest.mark.parametrize("final", [None, False, True])
async def test_unknown_audio_status_is_kept_as_int(
    api: AsyncSpeechAPI, router: respx.MockRouter, final: bool | None
) -> None:
    """An undocumented audio_status stays the raw int; finality then comes only from the flag."""
    body: dict[str, object] = {"audio_status": 7}
    if final is not None:
        body["audio_status_final"] = final
    router.get("pixverse/speech/x").mock(return_value=httpx.Response(200, json=body))
    speech = await api.get("x")
    assert speech.audio_status == 7
    assert type(speech.audio_status) is int
    assert speech.status_name == "7"
    assert speech.is_final is bool(final)
    assert not speech.is_completed
    assert not speech.is_failed


@pytest.mark.parametrize(
    ("status", "final", "is_final", "is_completed", "is_failed"),
    [
        (1, None, True, True, False),
        (8, None, True, False, True),
        (5, None, False, False, False),
        (10, None, False, False, False),
        (1, False, False, False, False),
        (8, False, False, False, False),
        (10, True, True, False, False),
        (None, None, False, False, False),
    ],
)
async def test_final_completed_failed(
    api: AsyncSpeechAPI,
    router: respx.MockRouter,
    status: int | None,
    final: bool | None,
    is_final: bool,
    is_completed: bool,
    is_failed: bool,
) -> None:
    """is_final/is_completed/is_failed follow audio_status_final when present, else the map."""
    body: dict[str, object] = {}
    if status is not None:
        body["audio_status"] = status
    if final is not None:
        body["audio_status_final"] = final
    router.get("pixverse/speech/x").mock(return_value=httpx.Response(200, json=body))
    speech = await api.get("x")
    assert (speech.is_final, speech.is_completed, speech.is_failed) == (
        is_final,
        is_completed,
        is_failed,
    )


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("audio_id", 5),
        ("audio_id", ["x"]),
        ("audio_status", "1"),
        ("audio_status", 1.5),
        ("audio_status", True),
        ("audio_status_final", "true"),
        ("audio_status_final", 1),
    ],
)
async def test_wrong_type_names_the_field(
    api: AsyncSpeechAPI, router: respx.MockRouter, field: str, value: object
) -> None:
    """An essential field of the wrong type is a ResponseDecodeError naming that field."""
    router.get("pixverse/speech/x").mock(
        return_value=httpx.Response(200, json={"audio_id": "x", field: value})
    )
    with pytest.raises(ResponseDecodeError) as info:
        await api.get("x")
    assert info.value.field == field
    assert repr(field) in str(info.value)
    assert info.value.audio_id == "x"


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("duration", "2"),
        ("duration", True),
        ("asset_id", 1.5),
        ("asset_id", "11223344"),
        ("created_at", "yesterday"),
        ("updated_at", 1750000000),
        ("url", 5),
        ("prompt", ["a"]),
        ("fail_reason", {"x": 1}),
    ],
)
async def test_other_wrong_type_is_none_and_kept(
    api: AsyncSpeechAPI, router: respx.MockRouter, field: str, value: object
) -> None:
    """Any other field of the wrong type is None, its value kept in invalid_fields."""
    router.get("pixverse/speech/x").mock(
        return_value=httpx.Response(200, json={"audio_id": "x", "audio_status": 1, field: value})
    )
    speech = await api.get("x")
    assert getattr(speech, field) is None
    assert speech.invalid_fields == {field: value}
    assert speech.is_completed


async def test_numeric_fail_code_is_kept_as_text(api: AsyncSpeechAPI, router: respx.MockRouter):
    """A numeric fail_code is tolerated and kept as its text, not refused."""
    router.get("pixverse/speech/x").mock(
        return_value=httpx.Response(200, json={"audio_status": 8, "fail_code": 500043})
    )
    assert (await api.get("x")).fail_code == "500043"


@pytest.mark.parametrize(
    ("response", "needle"),
    [
        (httpx.Response(200, text="<html><body>maintenance</body></html>"), "maintenance"),
        (httpx.Response(200, content=b""), "empty body"),
        (httpx.Response(200, content=b"\xff\xfe\x00garbage"), "not JSON"),
        (httpx.Response(200, text='{"audio_id": "x"'), "not JSON"),
    ],
)
async def test_non_json_success_is_decode_error(
    api: AsyncSpeechAPI, router: respx.MockRouter, response: httpx.Response, needle: str
) -> None:
    """A 2xx body that is not JSON is a ResponseDecodeError (no field), quoting the body."""
    route = router.get("pixverse/speech/x").mock(return_value=response)
    with pytest.raises(ResponseDecodeError) as info:
        await api.get("x")
    assert info.value.field is None
    assert needle in str(info.value)
    assert info.value.response is not None
    assert route.call_count == 1


@pytest.mark.parametrize("body", [[], [FULL_RECORD], "text", 3, False])
async def test_json_that_is_not_an_object_is_decode_error(
    api: AsyncSpeechAPI, router: respx.MockRouter, body: object
) -> None:
    """A 2xx JSON body that is not an object is a ResponseDecodeError."""
    router.get("pixverse/speech/x").mock(return_value=httpx.Response(200, json=body))
    with pytest.raises(ResponseDecodeError, match="JSON object"):
        await api.get("x")


async def test_undecodable_compressed_body_is_a_speech_error(
    api: AsyncSpeechAPI, router: respx.MockRouter
) -> None:
    """A body whose Content-Encoding cannot be undone is a ResponseDecodeError, not httpx's."""
    route = router.get("pixverse/speech/x").mock(
        side_effect=httpx.DecodingError("Error -3 while decompressing data")
    )
    with pytest.raises(ResponseDecodeError, match="could not be decoded") as info:
        await api.get("x")
    assert isinstance(info.value.__cause__, httpx.DecodingError)
    assert info.value.audio_id == "x"
    assert route.call_count == 1


# -- ids in paths ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("audio_id", "raw_path"),
    [
        (
            "user:1-pixverse:me@example.com-speech:42",
            b"/v2/pixverse/speech/user:1-pixverse:me@example.com-speech:42",
        ),
        ("a/b", b"/v2/pixverse/speech/a%2Fb"),
        ("a?b=1", b"/v2/pixverse/speech/a%3Fb=1"),
        ("a#b", b"/v2/pixverse/speech/a%23b"),
        ("a%2Fb", b"/v2/pixverse/speech/a%252Fb"),
        ("a b", b"/v2/pixverse/speech/a%20b"),
        (".", b"/v2/pixverse/speech/%2E"),
        ("..", b"/v2/pixverse/speech/%2E%2E"),
        ("../voices", b"/v2/pixverse/speech/..%2Fvoices"),
        ("\u00fc", b"/v2/pixverse/speech/%C3%BC"),
    ],
)
async def test_id_is_one_raw_path_segment(
    api: AsyncSpeechAPI, router: respx.MockRouter, audio_id: str, raw_path: bytes
) -> None:
    """`:` and `@` stay raw; `/ ? # %`, space, non-ASCII and dot segments are percent-encoded."""
    route = router.route(method="GET").mock(return_value=httpx.Response(200, json={}))
    await api.get(audio_id)
    request = route.calls.last.request
    assert request.url.raw_path == raw_path
    assert request.url.host == "api.useapi.net"
    assert request.url.query == b""


@pytest.mark.parametrize("audio_id", ["", " ", "\t\n"])
async def test_blank_id_is_refused_before_any_request(
    api: AsyncSpeechAPI, router: respx.MockRouter, audio_id: str
) -> None:
    """An empty or blank id is a ValueError and nothing is sent."""
    route = router.route().mock(return_value=httpx.Response(200, json={}))
    with pytest.raises(ValueError, match="audio_id"):
        await api.get(audio_id)
    assert route.call_count == 0


@pytest.mark.parametrize("audio_id", [None, 42, b"abc"])
async def test_non_string_id_is_type_error(
    api: AsyncSpeechAPI, router: respx.MockRouter, audio_id: object
) -> None:
    """An id that is not a string is a TypeError and nothing is sent."""
    route = router.route().mock(return_value=httpx.Response(200, json={}))
    with pytest.raises(TypeError, match="audio_id"):
        await api.get(audio_id)  # type: ignore[arg-type]
    assert route.call_count == 0


# -- error answers -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "cls"),
    [
        (400, BadRequestError),
        (401, AuthenticationError),
        (402, PaymentRequiredError),
        (404, NotFoundError),
        (412, InsufficientCreditsError),
        (422, ModerationError),
        (429, RateLimitError),
        (500, ServerError),
        (502, ServerError),
        (503, ServerError),
        (596, AccountError),
        (418, APIError),
    ],
)
async def test_error_status_maps_to_class(
    api0: AsyncSpeechAPI, router: respx.MockRouter, status: int, cls: type[APIError]
) -> None:
    """Each error status raises its APIError subclass with status, message, code and audio_id."""
    router.get("pixverse/speech/x").mock(
        return_value=httpx.Response(status, json={"error": f"problem {status}", "code": status})
    )
    with pytest.raises(APIError) as info:
        await api0.get("x")
    exc = info.value
    assert type(exc) is cls
    assert isinstance(exc, SpeechError)
    assert exc.status_code == status
    assert exc.message == f"problem {status}"
    assert exc.code == status
    assert exc.audio_id == "x"
    assert exc.body == {"error": f"problem {status}", "code": status}
    assert exc.response is not None
    assert exc.response.status_code == status
    assert str(exc) == f"HTTP {status}: problem {status} (audio_id=x)"


def test_account_error_is_a_server_error() -> None:
    """596 is a ServerError subclass (5xx) yet its own class."""
    assert issubclass(AccountError, ServerError)


async def test_not_found_without_code(api0: AsyncSpeechAPI, router: respx.MockRouter) -> None:
    """The speech 404 body has no code: `code` is None, the message is the body's error."""
    message = "Speech user:1-pixverse:me@example.com-speech:9 not found"
    router.get("pixverse/speech/x").mock(return_value=httpx.Response(404, json={"error": message}))
    with pytest.raises(NotFoundError) as info:
        await api0.get("x")
    assert info.value.code is None
    assert info.value.message == message


async def test_html_error_body_gives_an_excerpt(
    api0: AsyncSpeechAPI, router: respx.MockRouter
) -> None:
    """A non-JSON error body becomes a short, one-line excerpt of it as the message."""
    html = "<html>\n  <body>\n    <h1>502 Bad Gateway</h1>\n" + "<p>filler</p>\n" * 50 + "</html>"
    router.get("pixverse/speech/x").mock(return_value=httpx.Response(502, text=html))
    with pytest.raises(ServerError) as info:
        await api0.get("x")
    message = info.value.message
    assert message.startswith("<html> <body> <h1>502 Bad Gateway</h1>")
    assert "\n" not in message
    assert len(message) <= 200
    assert message.endswith("...")
    assert info.value.body is None


async def test_empty_error_body_uses_reason_phrase(
    api0: AsyncSpeechAPI, router: respx.MockRouter
) -> None:
    """An error with an empty body is named by its reason phrase."""
    router.get("pixverse/speech/x").mock(return_value=httpx.Response(503, content=b""))
    with pytest.raises(ServerError) as info:
        await api0.get("x")
    assert info.value.message == "Service Unavailable"


async def test_structured_error_field_is_serialised(
    api0: AsyncSpeechAPI, router: respx.MockRouter
) -> None:
    """An "error" that is not a string is shown as its JSON; a non-int code is dropped."""
    router.get("pixverse/speech/x").mock(
        return_value=httpx.Response(400, json={"error": {"text": "too long"}, "code": "400"})
    )
    with pytest.raises(BadRequestError) as info:
        await api0.get("x")
    assert info.value.message == '{"text": "too long"}'
    assert info.value.code is None


async def test_rate_limit_error_carries_retry_after(
    api0: AsyncSpeechAPI, router: respx.MockRouter
) -> None:
    """A 429 keeps the server's Retry-After in `retry_after` (None without one)."""
    route = router.get("pixverse/speech/x")
    route.mock(
        return_value=httpx.Response(429, json={"error": "busy"}, headers={"Retry-After": "12"})
    )
    with pytest.raises(RateLimitError) as info:
        await api0.get("x")
    assert info.value.retry_after == 12.0
    route.mock(return_value=httpx.Response(429, json={"error": "busy"}))
    with pytest.raises(RateLimitError) as info:
        await api0.get("x")
    assert info.value.retry_after is None


async def test_max_connections_caps_requests_in_flight(router: respx.MockRouter) -> None:
    """No more than `max_connections` requests of one client are in flight at once."""
    in_flight = 0
    peak = 0

    async def answer(request: httpx.Request) -> httpx.Response:
        nonlocal in_flight, peak
        in_flight += 1
        peak = max(peak, in_flight)
        try:
            await anyio.sleep(0.001)
        finally:
            in_flight -= 1
        return httpx.Response(200, json={})

    route = router.route(method="GET").mock(side_effect=answer)
    api = AsyncSpeechAPI("user:1-token-for-tests", max_connections=2)
    async with api, anyio.create_task_group() as tg:
        for n in range(7):
            tg.start_soon(api.get, f"id-{n}")
    assert route.call_count == 7
    assert peak == 2
