"""Configuration from the environment (USEAPI_BASE_URL) and default_headers on the constructor."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
import respx

from pixverse_speech import AsyncSpeechAPI, __version__

pytestmark = pytest.mark.anyio


def test_base_url_from_the_environment(monkeypatch: pytest.MonkeyPatch, wire: Any) -> None:
    """Without base_url=, the client reads USEAPI_BASE_URL."""
    monkeypatch.setenv("USEAPI_BASE_URL", "http://127.0.0.1:8080/v2")
    assert AsyncSpeechAPI(wire.TOKEN).base_url == "http://127.0.0.1:8080/v2/"


def test_explicit_base_url_wins(monkeypatch: pytest.MonkeyPatch, wire: Any) -> None:
    """An explicit base_url= wins over USEAPI_BASE_URL."""
    monkeypatch.setenv("USEAPI_BASE_URL", "http://127.0.0.1:8080/v2/")
    api = AsyncSpeechAPI(wire.TOKEN, base_url="http://127.0.0.2:9/v2/")
    assert api.base_url == "http://127.0.0.2:9/v2/"


def test_without_either_the_default_root(monkeypatch: pytest.MonkeyPatch, wire: Any) -> None:
    """Neither argument nor variable (or a blank one): the useapi.net root."""
    monkeypatch.setenv("USEAPI_BASE_URL", "  ")
    assert AsyncSpeechAPI(wire.TOKEN).base_url == "https://api.useapi.net/v2/"


@pytest.mark.parametrize("value", ["ftp://example.com/", "not a url", "http://h/?q=1"])
def test_bad_environment_value_names_the_variable(
    monkeypatch: pytest.MonkeyPatch, wire: Any, value: str
) -> None:
    """A bad USEAPI_BASE_URL is a ValueError that names the variable."""
    monkeypatch.setenv("USEAPI_BASE_URL", value)
    with pytest.raises(ValueError, match="USEAPI_BASE_URL"):
        AsyncSpeechAPI(wire.TOKEN)


def test_bad_explicit_value_names_the_argument(monkeypatch: pytest.MonkeyPatch, wire: Any) -> None:
    """A bad base_url= names base_url, not the variable."""
    monkeypatch.delenv("USEAPI_BASE_URL", raising=False)
    with pytest.raises(ValueError, match="base_url") as info:
        AsyncSpeechAPI(wire.TOKEN, base_url="ftp://example.com/")
    assert "USEAPI_BASE_URL" not in str(info.value)


async def test_default_headers_are_sent_and_keep_the_user_agent(
    router: respx.MockRouter, wire: Any
) -> None:
    """default_headers go out with each API request; the library's User-Agent stays."""
    route = router.get(url__regex=r"speech/user").mock(return_value=wire.ok(wire.record()))
    async with AsyncSpeechAPI(wire.TOKEN, default_headers={"X-Trace": "abc"}) as api:
        await api.get(wire.AUDIO_ID)
    request = route.calls.last.request
    assert request.headers["X-Trace"] == "abc"
    assert request.headers["User-Agent"] == f"pixverse-speech/{__version__}"
    assert request.headers["Authorization"] == f"Bearer {wire.TOKEN}"


async def test_default_headers_may_override_the_user_agent(
    router: respx.MockRouter, wire: Any
) -> None:
    """A User-Agent in default_headers replaces the library's."""
    route = router.get(url__regex=r"speech/user").mock(return_value=wire.ok(wire.record()))
    async with AsyncSpeechAPI(wire.TOKEN, default_headers={"User-Agent": "my-app/1"}) as api:
        await api.get(wire.AUDIO_ID)
    assert route.calls.last.request.headers["User-Agent"] == "my-app/1"


@pytest.mark.parametrize(
    ("headers", "error"),
    [
        ({"Authorization": "Bearer x"}, ValueError),
        ({"X-Bad": "a\r\nb"}, ValueError),
        ({"Bad Name": "x"}, ValueError),
        ({"X-Num": 1}, TypeError),
        (["X-A"], TypeError),
    ],
)
def test_bad_default_headers_are_refused(wire: Any, headers: object, error: type) -> None:
    """Bad default_headers raise an error naming the parameter, before any request."""
    with pytest.raises(error, match="default_headers"):
        AsyncSpeechAPI(wire.TOKEN, default_headers=headers)  # type: ignore[arg-type]


def test_headers_error_never_echoes_a_value(wire: Any) -> None:
    """A refused header's value (it may be a secret) is not in the message."""
    with pytest.raises(ValueError, match="X-Key") as info:
        AsyncSpeechAPI(wire.TOKEN, default_headers={"X-Key": "s3cr3t-value\n"})
    assert "s3cr3t" not in str(info.value)


async def test_default_headers_apply_with_a_callers_http_client(
    router: respx.MockRouter, wire: Any
) -> None:
    """default_headers are set per request, so they reach the API through a caller's client too."""
    route = router.get(url__regex=r"speech/user").mock(return_value=wire.ok(wire.record()))
    async with (
        httpx.AsyncClient() as http,
        AsyncSpeechAPI(wire.TOKEN, http_client=http, default_headers={"X-A": "1"}) as api,
    ):
        await api.get(wire.AUDIO_ID)
    assert route.calls.last.request.headers["X-A"] == "1"
