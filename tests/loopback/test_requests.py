"""GET speech/{audio_id} over real sockets: decoding, headers, ids in paths, keep-alive, errors."""

from __future__ import annotations

import time
from datetime import datetime, timezone

import httpx
import pytest

from pixverse_speech import (
    APIError,
    APITimeoutError,
    AudioStatus,
    AuthenticationError,
    BadRequestError,
    NotFoundError,
    ResponseDecodeError,
    Speech,
)

from . import support
from .server import LoopbackServer, Reply, reply
from .support import AUDIO_ID, TOKEN, client, raises, record, speech_url

pytestmark = pytest.mark.anyio


async def test_get_decodes_documented_record_and_sends_bearer_token(
    server: LoopbackServer,
) -> None:
    """get() sends the whole token as a Bearer header and decodes the documented 200 record."""
    server.script(speech_url(AUDIO_ID), reply(record(AUDIO_ID, file_size=48000, unknown="x")))
    async with client(server) as api:
        speech = await api.get(AUDIO_ID)

    assert isinstance(speech, Speech)
    assert speech.audio_id == AUDIO_ID
    assert speech.asset_id == 11223344
    assert speech.audio_status is AudioStatus.COMPLETED
    assert speech.audio_status_name == "COMPLETED"
    assert speech.audio_status_final is True
    assert speech.is_final
    assert speech.is_completed
    assert not speech.is_failed
    assert speech.url == "https://media.pixverse.ai/pixverse/audio/speech/11223344.mp3"
    assert speech.duration == 3
    assert speech.file_size == 48000
    assert speech.fail_code is None
    assert speech.fail_reason is None
    assert speech.created_at == datetime(2026, 6, 23, 12, 34, 56, tzinfo=timezone.utc)
    assert speech.updated_at is not None
    assert speech.updated_at.tzinfo is not None

    [request] = server.requests
    assert request.method == "GET"
    assert request.headers["authorization"] == f"Bearer {TOKEN}"
    assert request.headers["host"] == f"127.0.0.1:{server.port}"
    assert TOKEN not in repr(api)


@pytest.mark.parametrize(
    ("audio_id", "raw_segment"),
    [
        pytest.param(
            "user:1-pixverse:me@example.com-speech:42",
            "user:1-pixverse:me@example.com-speech:42",
            id="colon-and-at-stay-raw",
        ),
        pytest.param("a/b", "a%2Fb", id="slash"),
        pytest.param("a?b=1", "a%3Fb=1", id="question-mark"),
        pytest.param("a#b", "a%23b", id="hash"),
        pytest.param("a b", "a%20b", id="space"),
        pytest.param("100%", "100%25", id="percent"),
        pytest.param("..", "%2E%2E", id="dot-dot"),
        pytest.param("speech:é", "speech:%C3%A9", id="non-ascii"),
    ],
)
async def test_audio_id_is_one_raw_path_segment(
    server: LoopbackServer, audio_id: str, raw_segment: str
) -> None:
    """An id keeps ':' and '@' raw and percent-encodes what would leave its one path segment."""
    server.script(speech_url(raw_segment), reply(record(audio_id)))
    async with client(server) as api:
        speech = await api.get(audio_id)
    assert speech.audio_id == audio_id
    [request] = server.requests
    assert request.target == speech_url(raw_segment)
    assert request.raw_query == ""
    assert request.path.split("/")[1:] == ["v2", "pixverse", "speech", raw_segment]


@pytest.mark.parametrize("audio_id", ["", "   "])
async def test_blank_audio_id_is_rejected_before_any_request(
    server: LoopbackServer, audio_id: str
) -> None:
    """An empty or blank audio_id raises ValueError and sends nothing."""
    async with client(server) as api:
        with pytest.raises(ValueError, match="audio_id"):
            await api.get(audio_id)
    assert server.requests == []


async def test_token_is_read_from_environment(
    server: LoopbackServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """token=None reads USEAPI_TOKEN and sends it as the Bearer token."""
    monkeypatch.setenv("USEAPI_TOKEN", TOKEN)
    server.script(speech_url(AUDIO_ID), reply(record(AUDIO_ID)))
    async with client(server, token=None) as api:
        await api.get(AUDIO_ID)
    assert server.requests[0].headers["authorization"] == f"Bearer {TOKEN}"


async def test_sequential_gets_reuse_one_keepalive_connection(server: LoopbackServer) -> None:
    """Twenty sequential gets travel over one kept-alive TCP connection."""
    server.script(speech_url(AUDIO_ID), reply(record(AUDIO_ID)))
    async with client(server) as api:
        for _ in range(20):
            await api.get(AUDIO_ID)
    assert len(server.requests) == 20
    assert len({r.peer_port for r in server.requests}) == 1
    assert len({r.connection for r in server.requests}) == 1


async def test_error_answers_keep_the_connection_alive(server: LoopbackServer) -> None:
    """429, 404 and 200 answers in a row all travel over the same kept-alive connection."""
    missing = "user:1234-pixverse:someone@example.com-speech:404"
    server.script(
        speech_url(AUDIO_ID),
        reply({"error": "busy"}, 429, headers={"Retry-After": "0"}),
        reply(record(AUDIO_ID)),
    )
    server.script(speech_url(missing), reply({"error": "not found"}, 404))
    async with client(server, max_retries=1) as api:
        await api.get(AUDIO_ID)
        with raises(NotFoundError):
            await api.get(missing)
        await api.get(AUDIO_ID)
    assert len(server.requests) == 4
    assert len({r.connection for r in server.requests}) == 1


async def test_user_http_client_is_used_and_left_open(server: LoopbackServer) -> None:
    """A given httpx.AsyncClient carries the token-bearing requests and outlives aclose()."""
    server.script(speech_url(AUDIO_ID), reply(record(AUDIO_ID)))
    async with support.http_client() as http_client:
        api = client(server, http_client=http_client)
        async with api:
            await api.get(AUDIO_ID)
        assert api.is_closed
        assert not http_client.is_closed
        response = await http_client.get(f"http://127.0.0.1:{server.port}{speech_url(AUDIO_ID)}")
        assert response.status_code == 200
    [first, second] = server.requests
    assert first.headers["authorization"] == f"Bearer {TOKEN}"
    assert "authorization" not in second.headers
    assert first.connection == second.connection


async def test_httpx_timeout_object_is_applied(server: LoopbackServer) -> None:
    """timeout given as an httpx.Timeout bounds each request."""
    server.script(speech_url(AUDIO_ID), reply(record(AUDIO_ID), delay=10.0))
    started = time.monotonic()
    async with client(server, timeout=httpx.Timeout(5.0, read=0.2), max_retries=0) as api:
        with raises(APITimeoutError):
            await api.get(AUDIO_ID)
    assert time.monotonic() - started < 3.0
    assert len(server.requests) == 1


async def test_not_found_raises_at_once_with_message_and_audio_id(server: LoopbackServer) -> None:
    """A 404 raises NotFoundError carrying the API's message and the audio_id, without a retry."""
    message = f"Speech {AUDIO_ID} not found"
    server.script(speech_url(AUDIO_ID), reply({"error": message}, 404))
    async with client(server, max_retries=3) as api:
        with raises(NotFoundError) as caught:
            await api.get(AUDIO_ID)
    exc = caught.value
    assert exc.status_code == 404
    assert exc.message == message
    assert exc.audio_id == AUDIO_ID
    assert message in str(exc)
    assert len(server.requests) == 1


async def test_unauthorized_raises_authentication_error_without_retry(
    server: LoopbackServer,
) -> None:
    """A 401 raises AuthenticationError at once, and the message does not show the token."""
    server.script(speech_url(AUDIO_ID), reply({"error": "Unauthorized", "code": 401}, 401))
    async with client(server, max_retries=3) as api:
        with raises(AuthenticationError) as caught:
            await api.get(AUDIO_ID)
    assert caught.value.status_code == 401
    assert caught.value.message == "Unauthorized"
    assert len(server.requests) == 1


@pytest.mark.parametrize(
    "error",
    [
        pytest.param(f"Token {TOKEN} is not allowed here", id="string"),
        pytest.param({"detail": "x" * 170 + f" Bearer {TOKEN} is not allowed here"}, id="object"),
    ],
)
async def test_error_body_echoing_the_token_is_redacted(
    server: LoopbackServer, error: object
) -> None:
    """A 400 whose error echoes the token raises BadRequestError with no part of the token shown."""
    server.script(speech_url(AUDIO_ID), reply({"error": error, "code": 400}, 400))
    async with client(server, max_retries=3) as api:
        with raises(BadRequestError) as caught:
            await api.get(AUDIO_ID)
    assert caught.value.status_code == 400
    assert caught.value.message
    assert len(server.requests) == 1


@pytest.mark.parametrize("status", [402, 412, 422, 596])
async def test_other_error_statuses_raise_api_error_without_retry(
    server: LoopbackServer, status: int
) -> None:
    """402/412/422/596 raise an APIError with that status and are never retried."""
    server.script(
        speech_url(AUDIO_ID), reply({"error": f"status {status}", "code": status}, status)
    )
    async with client(server, max_retries=3) as api:
        with raises(APIError) as caught:
            await api.get(AUDIO_ID)
    assert caught.value.status_code == status
    assert caught.value.message == f"status {status}"
    assert len(server.requests) == 1


async def test_success_with_non_json_body_raises_response_decode_error(
    server: LoopbackServer,
) -> None:
    """A 200 whose body is not JSON raises ResponseDecodeError."""
    server.script(
        speech_url(AUDIO_ID),
        Reply(200, b"<html>maintenance</html>", (("Content-Type", "text/html"),)),
    )
    async with client(server) as api:
        with raises(ResponseDecodeError) as caught:
            await api.get(AUDIO_ID)
    assert caught.value.audio_id == AUDIO_ID


async def test_field_of_wrong_type_raises_decode_error_naming_it(server: LoopbackServer) -> None:
    """A 200 record with an essential field of the wrong type raises ResponseDecodeError naming
    it; any other field of the wrong type is None, its value kept in invalid_fields."""
    server.script(speech_url(AUDIO_ID), reply(record(AUDIO_ID, audio_status="done")))
    async with client(server) as api:
        with raises(ResponseDecodeError) as caught:
            await api.get(AUDIO_ID)
        assert caught.value.field == "audio_status"
        assert "audio_status" in str(caught.value)
        server.script(speech_url(AUDIO_ID), reply(record(AUDIO_ID, duration="three seconds")))
        speech = await api.get(AUDIO_ID)
    assert speech.duration is None
    assert speech.invalid_fields == {"duration": "three seconds"}


async def test_unknown_status_and_missing_fields_decode(server: LoopbackServer) -> None:
    """An unknown audio_status stays the raw int and absent fields are None."""
    server.script(speech_url(AUDIO_ID), reply({"audio_id": AUDIO_ID, "audio_status": 42}))
    async with client(server) as api:
        speech = await api.get(AUDIO_ID)
    assert speech.audio_status == 42
    assert not isinstance(speech.audio_status, AudioStatus)
    assert speech.url is None
    assert speech.created_at is None
    assert not speech.is_final
