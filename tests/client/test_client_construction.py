"""Constructing, closing and showing an AsyncSpeechAPI; the token is sent and never shown."""

from __future__ import annotations

import logging
import math

import httpx
import pytest
import respx

import pixverse_speech
from pixverse_speech import (
    APIConnectionError,
    AsyncSpeechAPI,
    AuthenticationError,
    ResponseDecodeError,
    ServerError,
    WaitTimeoutError,
)

pytestmark = pytest.mark.anyio

TOKEN = "user:12345-s3cr3tT0kenValue9876"


# -- the public names ------------------------------------------------------------------------


def test_all_is_pinned() -> None:
    """`pixverse_speech.__all__` is exactly the public names, sorted (update on purpose only)."""
    expected = [
        "APIConnectionError",
        "APIError",
        "APITimeoutError",
        "AccountError",
        "AsyncSpeechAPI",
        "AudioNotAvailableError",
        "AudioStatus",
        "AuthenticationError",
        "BadRequestError",
        "BatchGenerationError",
        "CreditFormula",
        "DownloadError",
        "DownloadFileError",
        "DownloadSizeError",
        "GenerationFailedError",
        "InsufficientCreditsError",
        "ModelInfo",
        "ModerationError",
        "NotFoundError",
        "PaymentRequiredError",
        "ProviderGroup",
        "RateLimitError",
        "ResponseDecodeError",
        "ServerError",
        "Speech",
        "SpeechAPI",
        "SpeechError",
        "SpeechFailedError",
        "SpeechModels",
        "SpeechPage",
        "Voice",
        "WaitTimeoutError",
        "__version__",
    ]
    assert pixverse_speech.__all__ == expected
    assert sorted(pixverse_speech.__all__) == pixverse_speech.__all__


def test_every_public_name_is_importable() -> None:
    """Every name in `__all__` can be imported from the package."""
    namespace: dict[str, object] = {}
    exec(f"from pixverse_speech import {', '.join(pixverse_speech.__all__)}", namespace)
    for name in pixverse_speech.__all__:
        assert namespace[name] is getattr(pixverse_speech, name)
    assert isinstance(pixverse_speech.__version__, str)
    assert pixverse_speech.__version__


# -- the token ---------------------------------------------------------------------------------


async def test_token_from_argument_is_sent_as_bearer(router: respx.MockRouter, wire) -> None:
    """The Authorization header is exactly `Bearer <token>`, neither quoted nor encoded."""
    route = router.get(f"pixverse/speech/{wire.AUDIO_ID}").mock(return_value=wire.ok(wire.record()))
    async with AsyncSpeechAPI(TOKEN) as api:
        await api.get(wire.AUDIO_ID)
    headers = route.calls.last.request.headers
    assert headers["authorization"] == f"Bearer {TOKEN}"
    assert headers.get_list("authorization") == [f"Bearer {TOKEN}"]
    assert headers["accept"] == "application/json"


async def test_token_from_environment(
    router: respx.MockRouter, monkeypatch: pytest.MonkeyPatch, wire
) -> None:
    """With no token argument, USEAPI_TOKEN is read."""
    monkeypatch.setenv("USEAPI_TOKEN", "user:9-fromenv")
    route = router.get("pixverse/speech/").mock(return_value=wire.ok({"data": []}))
    async with AsyncSpeechAPI() as api:
        await api.list()
    assert route.calls.last.request.headers["authorization"] == "Bearer user:9-fromenv"


async def test_token_argument_wins_over_environment(
    router: respx.MockRouter, monkeypatch: pytest.MonkeyPatch, wire
) -> None:
    """An explicit token is used even when USEAPI_TOKEN is set."""
    monkeypatch.setenv("USEAPI_TOKEN", "user:9-fromenv")
    route = router.get("pixverse/speech/").mock(return_value=wire.ok({"data": []}))
    async with AsyncSpeechAPI(TOKEN) as api:
        await api.list()
    assert route.calls.last.request.headers["authorization"] == f"Bearer {TOKEN}"


@pytest.mark.parametrize("env", [None, "", "   "])
def test_missing_token_names_the_variable(monkeypatch: pytest.MonkeyPatch, env: str | None) -> None:
    """No token argument and no (or a blank) USEAPI_TOKEN is a ValueError naming USEAPI_TOKEN."""
    if env is not None:
        monkeypatch.setenv("USEAPI_TOKEN", env)
    with pytest.raises(ValueError, match="USEAPI_TOKEN"):
        AsyncSpeechAPI()


@pytest.mark.parametrize(
    ("token", "exc"),
    [(123, TypeError), (b"user:1-x", TypeError), ("", ValueError), ("   ", ValueError)],
)
def test_bad_token_is_refused(token: object, exc: type[Exception]) -> None:
    """A token that is not a non-blank string is refused at construction."""
    with pytest.raises(exc, match="token"):
        AsyncSpeechAPI(token)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "token", [f"{TOKEN}\nX: 1", f"user:1-a\r\nX-Evil: {TOKEN}", f"{TOKEN}\x00z"]
)
def test_token_with_control_characters_is_refused_without_echo(token: str) -> None:
    """A token with control characters is a ValueError whose message does not repeat it."""
    with pytest.raises(ValueError, match="control characters") as info:
        AsyncSpeechAPI(token)
    assert TOKEN not in str(info.value)
    assert "s3cr3t" not in repr(info.value)


async def test_token_is_stripped(router: respx.MockRouter, wire) -> None:
    """Whitespace around a token (say, from a file) is not sent."""
    route = router.get("pixverse/speech/").mock(return_value=wire.ok({"data": []}))
    async with AsyncSpeechAPI(f"  {TOKEN}\n") as api:
        await api.list()
    assert route.calls.last.request.headers["authorization"] == f"Bearer {TOKEN}"


# -- other constructor arguments -------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "exc", "name"),
    [
        ({"email": 5}, TypeError, "email"),
        ({"email": ""}, ValueError, "email"),
        ({"email": "  "}, ValueError, "email"),
        ({"base_url": 5}, TypeError, "base_url"),
        ({"base_url": "ftp://api.useapi.net/v2/"}, ValueError, "base_url"),
        ({"base_url": "api.useapi.net/v2/"}, ValueError, "base_url"),
        ({"base_url": "https://api.useapi.net/v2/?x=1"}, ValueError, "base_url"),
        ({"base_url": "https://api.useapi.net/v2/#top"}, ValueError, "base_url"),
        ({"timeout": "30"}, TypeError, "timeout"),
        ({"timeout": True}, TypeError, "timeout"),
        ({"timeout": None}, TypeError, "timeout"),
        ({"timeout": 0}, ValueError, "timeout"),
        ({"timeout": -1.0}, ValueError, "timeout"),
        ({"timeout": math.nan}, ValueError, "timeout"),
        ({"timeout": math.inf}, ValueError, "timeout"),
        ({"max_retries": -1}, ValueError, "max_retries"),
        ({"max_retries": 1.0}, TypeError, "max_retries"),
        ({"max_retries": True}, TypeError, "max_retries"),
        ({"max_retries": "3"}, TypeError, "max_retries"),
        ({"max_connections": 0}, ValueError, "max_connections"),
        ({"max_connections": 2.0}, TypeError, "max_connections"),
        ({"http_client": "client"}, TypeError, "http_client"),
        ({"http_client": object()}, TypeError, "http_client"),
    ],
)
def test_bad_constructor_argument(
    kwargs: dict[str, object], exc: type[Exception], name: str
) -> None:
    """Each constructor argument of the wrong type or value raises, naming the argument."""
    with pytest.raises(exc, match=name):
        AsyncSpeechAPI(TOKEN, **kwargs)  # type: ignore[arg-type]


def test_sync_http_client_is_refused() -> None:
    """A synchronous httpx.Client is not accepted as http_client."""
    with httpx.Client() as sync_client, pytest.raises(TypeError, match="AsyncClient"):
        AsyncSpeechAPI(TOKEN, http_client=sync_client)  # type: ignore[arg-type]


async def test_base_url_without_trailing_slash(wire) -> None:
    """A base_url without its trailing slash still keeps its last path segment."""
    with respx.mock(assert_all_called=False) as mock:
        route = mock.get("https://proxy.example.test/api/v2/pixverse/speech/x").mock(
            return_value=wire.ok(wire.record(audio_id="x"))
        )
        async with AsyncSpeechAPI(TOKEN, base_url="https://proxy.example.test/api/v2") as api:
            assert api.base_url == "https://proxy.example.test/api/v2/"
            await api.get("x")
    assert route.call_count == 1


async def test_request_timeout_is_applied(router: respx.MockRouter, wire) -> None:
    """`timeout` (a number or an httpx.Timeout) is the per-request timeout of every call."""
    route = router.get("pixverse/speech/").mock(return_value=wire.ok({"data": []}))
    async with AsyncSpeechAPI(TOKEN, timeout=7.5) as api:
        await api.list()
    assert route.calls.last.request.extensions["timeout"] == httpx.Timeout(7.5).as_dict()
    custom = httpx.Timeout(5.0, connect=1.0)
    async with AsyncSpeechAPI(TOKEN, timeout=custom) as api:
        await api.list()
    assert route.calls.last.request.extensions["timeout"] == custom.as_dict()


def test_properties_report_configuration() -> None:
    """`email`, `base_url` and `is_closed` report what the client was built with."""
    api = AsyncSpeechAPI(TOKEN, email="me@example.com")
    assert api.email == "me@example.com"
    assert api.base_url == "https://api.useapi.net/v2/"
    assert api.is_closed is False


# -- lifecycle ---------------------------------------------------------------------------------


async def test_owned_client_is_closed_by_aclose() -> None:
    """The httpx client the API creates itself is closed by `aclose()`, which is idempotent."""
    api = AsyncSpeechAPI(TOKEN)
    inner = api._sender.client
    assert not inner.is_closed
    await api.aclose()
    assert inner.is_closed
    assert api.is_closed
    await api.aclose()


async def test_owned_client_is_closed_by_async_with() -> None:
    """Leaving `async with` closes the client the API created."""
    async with AsyncSpeechAPI(TOKEN) as api:
        inner = api._sender.client
    assert inner.is_closed
    assert api.is_closed


async def test_user_http_client_is_used_and_not_closed(router: respx.MockRouter, wire) -> None:
    """A given http_client carries the requests and stays open after the API is closed."""
    seen: list[httpx.Request] = []

    async def hook(request: httpx.Request) -> None:
        seen.append(request)

    router.get("pixverse/speech/").mock(return_value=wire.ok({"data": []}))
    async with httpx.AsyncClient(event_hooks={"request": [hook]}) as user_client:
        async with AsyncSpeechAPI(TOKEN, http_client=user_client) as api:
            await api.list()
        assert len(seen) == 1
        assert not user_client.is_closed
        await api.aclose()
        assert not user_client.is_closed


async def test_user_client_default_authorization_is_overridden(
    router: respx.MockRouter, wire
) -> None:
    """A shared http_client's own Authorization header never replaces the API token."""
    route = router.get("pixverse/speech/").mock(return_value=wire.ok({"data": []}))
    async with httpx.AsyncClient(headers={"Authorization": "Bearer other"}) as user_client:
        api = AsyncSpeechAPI(TOKEN, http_client=user_client)
        await api.list()
        assert user_client.headers["authorization"] == "Bearer other"
    assert route.calls.last.request.headers.get_list("authorization") == [f"Bearer {TOKEN}"]


async def test_calls_after_close_raise_runtime_error(router: respx.MockRouter, wire) -> None:
    """Every call on a closed client raises RuntimeError and sends nothing."""
    route = router.route().mock(return_value=wire.ok(wire.record()))
    api = AsyncSpeechAPI(TOKEN)
    await api.aclose()
    with pytest.raises(RuntimeError, match="closed"):
        await api.get(wire.AUDIO_ID)
    with pytest.raises(RuntimeError, match="closed"):
        await api.list()
    with pytest.raises(RuntimeError, match="closed"):
        api.iter_speech()
    with pytest.raises(RuntimeError, match="closed"):
        await api.wait_until_final(wire.AUDIO_ID)
    with pytest.raises(RuntimeError, match="closed"):
        await api.wait_many([wire.AUDIO_ID])
    with pytest.raises(RuntimeError, match="closed"):
        async with api:
            pass
    assert route.call_count == 0


async def test_closed_user_client_is_still_refused(router: respx.MockRouter, wire) -> None:
    """With a user's http_client, calls after `aclose()` still raise although it stays open."""
    route = router.route().mock(return_value=wire.ok({"data": []}))
    async with httpx.AsyncClient() as user_client:
        api = AsyncSpeechAPI(TOKEN, http_client=user_client)
        await api.aclose()
        with pytest.raises(RuntimeError):
            await api.list()
    assert route.call_count == 0


# -- the token is never shown --------------------------------------------------------------------


def test_repr_hides_token() -> None:
    """`repr` shows the base URL and email, never the token, and marks a closed client."""
    api = AsyncSpeechAPI(TOKEN, email="me@example.com")
    text = repr(api)
    assert TOKEN not in text
    assert "s3cr3t" not in text
    assert "https://api.useapi.net/v2/" in text
    assert "me@example.com" in text
    assert "closed" not in text
    assert "s3cr3t" not in repr(api._sender.token)
    assert "s3cr3t" not in str(api._sender.token)


async def test_repr_marks_closed() -> None:
    """A closed client says so in its repr."""
    api = AsyncSpeechAPI(TOKEN)
    await api.aclose()
    assert "closed" in repr(api)


SECRET_PART = TOKEN.split("-", 1)[1]


def _leaks(text: str) -> bool:
    """Whether ``text`` holds the token, or any 6 characters in a row of its secret part."""
    return TOKEN in text or any(SECRET_PART[i : i + 6] in text for i in range(len(SECRET_PART) - 5))


def _assert_hidden(exc: BaseException, caplog: pytest.LogCaptureFixture) -> None:
    assert not _leaks(str(exc))
    assert not _leaks(repr(exc))
    assert not _leaks(caplog.text)
    for rec in caplog.records:
        assert not _leaks(rec.getMessage())


async def test_error_body_echoing_token_is_redacted(
    router: respx.MockRouter, caplog: pytest.LogCaptureFixture
) -> None:
    """An API error whose body repeats the token shows it masked, in the exception and the logs."""
    caplog.set_level(logging.DEBUG)
    router.get("pixverse/speech/").mock(
        return_value=httpx.Response(401, json={"error": f"Invalid token {TOKEN}", "code": 401})
    )
    async with AsyncSpeechAPI(TOKEN) as api:
        with pytest.raises(AuthenticationError) as info:
            await api.list()
    assert "[REDACTED]" in info.value.message
    assert "Invalid token" in info.value.message
    _assert_hidden(info.value, caplog)


@pytest.mark.parametrize("padding", [0, 150, 171, 180, 190, 199])
async def test_html_error_body_echoing_token_is_redacted(
    router: respx.MockRouter, caplog: pytest.LogCaptureFixture, padding: int
) -> None:
    """A non-JSON error body with the token near the excerpt's cut never leaks any of it."""
    caplog.set_level(logging.DEBUG)
    body = "x" * padding + f" {TOKEN} " + "y" * 300
    router.get("pixverse/speech/").mock(return_value=httpx.Response(502, text=body))
    async with AsyncSpeechAPI(TOKEN, max_retries=1) as api:
        with pytest.raises(ServerError) as info:
            await api.list()
    assert info.value.message.startswith("x" * min(padding, 150))
    _assert_hidden(info.value, caplog)


async def test_non_json_success_echoing_token_is_redacted(
    router: respx.MockRouter, caplog: pytest.LogCaptureFixture
) -> None:
    """A 2xx body that is not JSON and repeats the token is masked in the ResponseDecodeError."""
    caplog.set_level(logging.DEBUG)
    router.get("pixverse/speech/").mock(
        return_value=httpx.Response(200, text=f"<html>hello {TOKEN}</html>")
    )
    async with AsyncSpeechAPI(TOKEN) as api:
        with pytest.raises(ResponseDecodeError) as info:
            await api.list()
    assert "[REDACTED]" in str(info.value)
    _assert_hidden(info.value, caplog)


async def test_connection_error_mentioning_token_is_redacted(
    router: respx.MockRouter, caplog: pytest.LogCaptureFixture
) -> None:
    """A transport error whose text contains the token is masked in the error and retry logs."""
    caplog.set_level(logging.DEBUG)
    router.get("pixverse/speech/").mock(side_effect=httpx.ConnectError(f"refused for {TOKEN}"))
    async with AsyncSpeechAPI(TOKEN, max_retries=2) as api:
        with pytest.raises(APIConnectionError) as info:
            await api.list()
    assert "[REDACTED]" in str(info.value)
    assert len([r for r in caplog.records if "retry" in r.getMessage()]) == 2
    _assert_hidden(info.value, caplog)


async def test_wait_timeout_message_is_redacted(
    router: respx.MockRouter, caplog: pytest.LogCaptureFixture, wire
) -> None:
    """A WaitTimeoutError that quotes the last poll error keeps the token masked."""
    caplog.set_level(logging.DEBUG)
    router.get(f"pixverse/speech/{wire.AUDIO_ID}").mock(
        return_value=httpx.Response(503, json={"error": f"busy {TOKEN}"})
    )
    async with AsyncSpeechAPI(TOKEN, max_retries=1) as api:
        with pytest.raises(WaitTimeoutError) as info:
            await api.wait_until_final(wire.AUDIO_ID, timeout=5)
    assert "[REDACTED]" in str(info.value)
    _assert_hidden(info.value, caplog)
    assert info.value.__cause__ is not None
    _assert_hidden(info.value.__cause__, caplog)


async def test_debug_log_lines_never_carry_token(
    router: respx.MockRouter, caplog: pytest.LogCaptureFixture, wire
) -> None:
    """A run of successful and retried calls logged at DEBUG never mentions the token."""
    caplog.set_level(logging.DEBUG)
    router.get(f"pixverse/speech/{wire.AUDIO_ID}").mock(
        side_effect=[wire.error(503), wire.ok(wire.record())]
    )
    router.get("pixverse/speech/").mock(return_value=wire.ok({"data": [wire.record()]}))
    async with AsyncSpeechAPI(TOKEN) as api:
        await api.get(wire.AUDIO_ID)
        await api.list()
        _ = [s async for s in api.iter_speech(page_size=5)]
    assert any(r.name == "pixverse_speech" and r.levelno == logging.DEBUG for r in caplog.records)
    assert any(r.name == "pixverse_speech" and r.levelno == logging.INFO for r in caplog.records)
    assert TOKEN not in caplog.text
