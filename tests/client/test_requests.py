"""The request fast path: the requests httpx would build, sent through httpx's transports."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, ClassVar

import httpx
import pytest
import respx
from hypothesis import given, settings
from hypothesis import strategies as st

from pixverse_speech import APIConnectionError, AsyncSpeechAPI, NotFoundError
from pixverse_speech._paths import speech_path
from pixverse_speech._requests import Requests
from pixverse_speech.testing import FakeClock, FakeSpeechAPI

BASE_URL = "https://api.useapi.net/v2/"
TOKEN = "user:12345-s3cr3tT0kenValue9876"
TIMEOUT = httpx.Timeout(12.0, connect=3.0)
pytestmark = pytest.mark.anyio

ODD_IDS = [
    "user:1-pixverse:me@example.com-speech:42",
    "..",
    ".",
    "a b/c?d#e",
    "100%",
    "%2E%2E",
    "ünï-cødé",
    "a/../b",
    ".hidden",
    "tab\there",
]


# One client for the builders (never sends): creating one loads TLS certificates (~30 ms).
_CLIENT = httpx.AsyncClient(headers={"User-Agent": "pixverse-speech/test"})


def _pair(base_url: str = BASE_URL) -> tuple[Requests, Requests]:
    """(fast, httpx's own) request builders over one client with the library's default headers."""
    client = _CLIENT
    options: dict[str, Any] = {"base_url": base_url, "token": TOKEN, "timeout": TIMEOUT}
    return Requests(client, direct=True, **options), Requests(client, direct=False, **options)


def _same(fast: httpx.Request, slow: httpx.Request) -> None:
    assert fast.method == slow.method
    assert fast.url == slow.url
    assert fast.url.raw_path == slow.url.raw_path
    assert str(fast.url) == str(slow.url)
    assert fast.headers.raw == slow.headers.raw
    assert fast.extensions == slow.extensions
    assert fast.content == slow.content == b""


@pytest.mark.parametrize("audio_id", ODD_IDS)
def test_get_request_matches_httpx(audio_id: str) -> None:
    """A job's GET is built exactly as httpx's build_request builds it: URL, headers, timeout."""
    fast, slow = _pair()
    url = BASE_URL + speech_path(audio_id)
    _same(fast.build("GET", url), slow.build("GET", url))


@pytest.mark.parametrize(
    "params",
    [
        {},
        {"email": "me+1@example.com", "limit": 50, "offset": 0},
        {"email": "a b&c=d/é", "limit": 1},
        {"model": "speech-2.8-hd", "language": "zh-CN"},
    ],
)
def test_query_is_encoded_as_httpx_encodes_it(params: dict[str, str | int]) -> None:
    """Query parameters are encoded exactly as httpx encodes them."""
    fast, slow = _pair()
    url = BASE_URL + "pixverse/speech/"
    _same(fast.build("GET", url, params=params), slow.build("GET", url, params=params))


@settings(max_examples=200, deadline=None)
@given(
    audio_id=st.text(min_size=1, max_size=30),
    email=st.text(max_size=20),
    limit=st.integers(min_value=0, max_value=10**6),
    base=st.sampled_from(
        ["https://api.useapi.net/v2/", "http://127.0.0.1:8080/", "http://[::1]:9/a%20b/v2/"]
    ),
)
def test_any_request_matches_httpx(audio_id: str, email: str, limit: int, base: str) -> None:
    """For any id, query and base URL, the fast path's request equals httpx's."""
    fast, slow = _pair(base)
    for url, params in (
        (base + speech_path(audio_id), None),
        (base + "pixverse/speech/", {"email": email, "limit": limit}),
    ):
        _same(fast.build("GET", url, params=params), slow.build("GET", url, params=params))


def test_requests_with_a_body_are_built_by_httpx() -> None:
    """A request with a body (a create's form) is built by httpx, carrying the token."""
    fast, _ = _pair()
    request = fast.build("POST", BASE_URL + "pixverse/speech/create", files={"text": (None, "x")})
    assert request.headers["authorization"] == f"Bearer {TOKEN}"
    assert request.headers["content-type"].startswith("multipart/form-data")
    assert b"x" in request.read()


async def test_token_is_sent_per_request_not_set_on_the_client(wire) -> None:
    """Each API request carries the token; the client it owns has no Authorization default."""
    with respx.mock(base_url=BASE_URL) as mock:
        route = mock.get(f"pixverse/speech/{wire.AUDIO_ID}").mock(
            return_value=wire.ok(wire.record())
        )
        async with AsyncSpeechAPI(TOKEN) as api:
            await api.get(wire.AUDIO_ID)
            assert "authorization" not in api._sender.client.headers
    request = route.calls.last.request
    assert request.headers["authorization"] == f"Bearer {TOKEN}"
    assert request.headers["accept"] == "application/json"
    assert request.headers["user-agent"].startswith("pixverse-speech/")


async def test_respx_httpx_level_mock_is_honoured(wire) -> None:
    """respx's httpx-level mocker (which replaces the client's transport choice) still works."""
    # On loopback: were the mock bypassed, the request would be refused, not sent afar.
    base = "http://127.0.0.2:9/v2/"
    with respx.mock(base_url=base, using="httpx") as mock:
        route = mock.get("pixverse/speech/").mock(return_value=wire.ok({"data": []}))
        async with AsyncSpeechAPI(TOKEN, email="me@example.com", base_url=base) as api:
            page = await api.list(limit=5)
    assert list(page.data) == []
    assert dict(route.calls.last.request.url.params) == {"email": "me@example.com", "limit": "5"}


async def test_fake_transport_still_serves_the_client() -> None:
    """The fake API's in-process transport serves a client that owns its httpx client."""
    fake = FakeSpeechAPI(clock=FakeClock())
    audio_id = fake.add_job(queued_for=0, generating_for=0)
    assert fake.token is not None
    async with AsyncSpeechAPI(fake.token, transport=fake.transport()) as api:
        speech = await api.get(audio_id)
        with pytest.raises(NotFoundError):
            await api.get("user:1-pixverse:none@example.com-speech:0")
    assert speech.audio_id == audio_id


async def test_user_http_client_goes_through_its_send(wire) -> None:
    """A client passed as http_client sends every request through its own send() and hooks."""
    sent: list[httpx.Request] = []
    hooked: list[str] = []

    class Recording(httpx.AsyncClient):
        async def send(self, request: httpx.Request, **kwargs: Any) -> httpx.Response:
            sent.append(request)
            return await super().send(request, **kwargs)

    async def on_request(request: httpx.Request) -> None:
        hooked.append("request")

    async def on_response(response: httpx.Response) -> None:
        hooked.append(f"response {response.status_code}")

    with respx.mock(base_url=BASE_URL) as mock:
        mock.get(f"pixverse/speech/{wire.AUDIO_ID}").mock(return_value=wire.ok(wire.record()))
        hooks = {"request": [on_request], "response": [on_response]}
        async with (
            Recording(event_hooks=hooks) as http,
            AsyncSpeechAPI(TOKEN, http_client=http) as api,
        ):
            await api.get(wire.AUDIO_ID)
    assert [r.url.path for r in sent] == [f"/v2/{speech_path(wire.AUDIO_ID)}"]
    assert hooked == ["request", "response 200"]


async def test_response_keeps_its_request_and_elapsed(wire) -> None:
    """An error's response has its request and elapsed time, as send() would leave them."""
    with respx.mock(base_url=BASE_URL) as mock:
        mock.get(f"pixverse/speech/{wire.AUDIO_ID}").mock(return_value=wire.error(404))
        async with AsyncSpeechAPI(TOKEN, max_retries=0) as api:
            with pytest.raises(NotFoundError) as caught:
                await api.get(wire.AUDIO_ID)
    response = caught.value.response
    assert response is not None
    assert response.request.url.path == f"/v2/{speech_path(wire.AUDIO_ID)}"
    assert response.elapsed.total_seconds() >= 0


async def test_transport_error_carries_its_request() -> None:
    """A transport failure surfaces as APIConnectionError whose httpx cause names the request."""

    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused")

    async with AsyncSpeechAPI(TOKEN, max_retries=0, transport=httpx.MockTransport(refuse)) as api:
        with pytest.raises(APIConnectionError) as caught:
            await api.get("abc")
    cause = caught.value.__cause__
    assert isinstance(cause, httpx.ConnectError)
    assert cause.request.url == httpx.URL(BASE_URL + "pixverse/speech/abc")


async def test_closed_http_client_is_refused() -> None:
    """A request on an owned client that was closed underneath fails as httpx's send() would."""
    async with AsyncSpeechAPI(TOKEN) as api:
        await api._sender.client.aclose()
        with pytest.raises(RuntimeError, match="closed"):
            await api.get("abc")


# -- proxies from the environment ---------------------------------------------------------------


class _Proxy(BaseHTTPRequestHandler):
    """A forward proxy that answers every request itself with one job record."""

    seen: ClassVar[list[tuple[str, str | None]]] = []

    def do_GET(self) -> None:
        type(self).seen.append((self.path, self.headers.get("authorization")))
        body = json.dumps({"audio_id": "abc", "audio_status": 1}).encode()
        self.send_response(200)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def proxy(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[tuple[str, str | None]]]:
    """A loopback proxy named by HTTP_PROXY (and no other proxy setting); yields its log."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Proxy)
    _Proxy.seen = []
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    for name in ("ALL_PROXY", "all_proxy", "HTTPS_PROXY", "https_proxy", "http_proxy"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("NO_PROXY", "")
    monkeypatch.setenv("no_proxy", "")
    monkeypatch.setenv("HTTP_PROXY", f"http://127.0.0.1:{server.server_address[1]}")
    try:
        yield _Proxy.seen
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


async def test_http_proxy_from_the_environment_is_used(
    proxy: list[tuple[str, str | None]],
) -> None:
    """HTTP_PROXY in the environment routes the owned client's API requests through the proxy."""
    # 127.0.0.2:9 is never contacted: only the proxy is.
    async with AsyncSpeechAPI(TOKEN, base_url="http://127.0.0.2:9/v2/", max_retries=0) as api:
        speech = await api.get("abc")
    assert speech.audio_id == "abc"
    assert proxy == [("http://127.0.0.2:9/v2/pixverse/speech/abc", f"Bearer {TOKEN}")]
