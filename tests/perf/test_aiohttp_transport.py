"""The aiohttp transport's exception mapping, against a scripted server on real sockets.

A failure that may have reached the server must never look like "the request never left"
(``ConnectError``/``ConnectTimeout``): the client repeats a create only after those.
"""

from __future__ import annotations

import gzip
import json
from collections.abc import Iterator

import aiohttp
import httpx
import pytest
from loopback.server import LoopbackServer, Reply, drop, reply, truncated

from pixverse_speech import APIConnectionError, APITimeoutError, AsyncSpeechAPI
from pixverse_speech._aiohttp import EAGER_BODY_LIMIT, AiohttpTransport, translate
from pixverse_speech._requests import READ_EAGERLY

pytestmark = pytest.mark.anyio

PATH = "/v2/pixverse/speech/some-id"
NEVER_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)


@pytest.fixture
def anyio_backend() -> str:
    """aiohttp runs on asyncio only."""
    return "asyncio"


@pytest.fixture
def server() -> Iterator[LoopbackServer]:
    """A scripted HTTP/1.1 server on 127.0.0.1."""
    srv = LoopbackServer()
    srv.start()
    try:
        yield srv
    finally:
        srv.stop()


async def fetch(url: str, timeout: float = 5.0) -> httpx.Response:
    async with httpx.AsyncClient(transport=AiohttpTransport(), timeout=timeout) as http:
        response = await http.get(url)
        await response.aread()
        return response


async def test_connection_dropped_mid_body_is_a_read_error(server: LoopbackServer) -> None:
    """A body cut short of its Content-Length is a ReadError, not ConnectError/ConnectTimeout."""
    server.script(PATH, truncated({"audio_id": "x" * 200}))
    with pytest.raises(httpx.TransportError) as caught:
        await fetch(f"http://127.0.0.1:{server.port}{PATH}")
    assert isinstance(caught.value, httpx.ReadError)
    assert not isinstance(caught.value, NEVER_SENT)


async def test_connection_dropped_before_an_answer_is_a_protocol_error(
    server: LoopbackServer,
) -> None:
    """A server hanging up without an answer is a RemoteProtocolError, sent exactly once."""
    server.script(PATH, drop())
    with pytest.raises(httpx.TransportError) as caught:
        await fetch(f"http://127.0.0.1:{server.port}{PATH}")
    assert isinstance(caught.value, httpx.RemoteProtocolError)
    assert len(server.requests) == 1  # aiohttp's own silent second try is off


async def test_connection_refused_is_a_connect_error() -> None:
    """A port nobody listens on is an httpx.ConnectError."""
    probe = LoopbackServer()
    probe.start()
    assert probe.stop() == []
    with pytest.raises(httpx.ConnectError):
        await fetch(f"http://127.0.0.1:{probe.port}{PATH}")


async def test_slow_answer_is_a_read_timeout(server: LoopbackServer) -> None:
    """An answer slower than the read timeout is an httpx.ReadTimeout."""
    server.script(PATH, reply({}, delay=5.0))
    with pytest.raises(httpx.ReadTimeout):
        await fetch(f"http://127.0.0.1:{server.port}{PATH}", timeout=0.2)


async def test_dropped_create_says_the_job_may_exist(server: LoopbackServer) -> None:
    """A create whose connection drops mid-answer is not retried and may have made its job."""
    server.script("/v2/pixverse/speech/create", truncated({"audio_id": "x" * 200}))
    async with AsyncSpeechAPI(
        token="user:1-aiohttp-test-token",
        base_url=f"http://127.0.0.1:{server.port}/v2/",
        transport="aiohttp",
        max_retries=3,
    ) as api:
        with pytest.raises(APIConnectionError) as caught:
            await api.create("Hello.", "minimax_english_radiant_girl")
    assert not isinstance(caught.value, APITimeoutError)
    assert caught.value.job_may_exist is True
    assert len(server.requests) == 1


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        pytest.param(aiohttp.ServerDisconnectedError(), httpx.RemoteProtocolError, id="disconnect"),
        pytest.param(aiohttp.ClientPayloadError("cut"), httpx.ReadError, id="payload"),
        pytest.param(aiohttp.ClientOSError(104, "reset"), httpx.ReadError, id="reset"),
        pytest.param(aiohttp.SocketTimeoutError("read"), httpx.ReadTimeout, id="read-timeout"),
        pytest.param(
            aiohttp.ConnectionTimeoutError("c"), httpx.ConnectTimeout, id="connect-timeout"
        ),
    ],
)
def test_translate_maps_aiohttp_errors_truthfully(
    error: BaseException, expected: type[httpx.TransportError]
) -> None:
    """Each aiohttp failure maps to the httpx error that says whether the request left."""
    translated = translate(error)
    assert type(translated) is expected


@pytest.mark.parametrize("anyio_backend", ["trio"])
async def test_aiohttp_transport_under_trio_raises_a_clear_runtime_error() -> None:
    """transport="aiohttp" under trio fails at the first request with a RuntimeError saying so."""
    async with AsyncSpeechAPI(
        token="user:1-aiohttp-test-token", base_url="http://127.0.0.1:9/v2/", transport="aiohttp"
    ) as api:
        with pytest.raises(RuntimeError, match=r"asyncio only.*trio"):
            await api.get("some-id")


async def test_small_body_is_read_with_the_answer(server: LoopbackServer) -> None:
    """An API request's small body is read along with the answer and handed over raw, in one
    piece: still gzip, so that the library's bounded inflater, not httpx, undoes it."""
    body = gzip.compress(json.dumps({"audio_id": "x"}).encode(), mtime=0)
    server.script(
        PATH,
        Reply(
            status=200,
            body=body,
            headers=(("Content-Type", "application/json"), ("Content-Encoding", "gzip")),
        ),
    )
    async with httpx.AsyncClient(transport=AiohttpTransport()) as http:
        request = http.build_request(
            "GET", f"http://127.0.0.1:{server.port}{PATH}", extensions={READ_EAGERLY: True}
        )
        response = await http.send(request, stream=True)
        chunks = [chunk async for chunk in response.aiter_raw()]
        await response.aclose()
    assert chunks == [body]


async def test_large_body_is_streamed(server: LoopbackServer) -> None:
    """A body above the eager limit is streamed, arriving whole through aiter_bytes."""
    body = b"a" * (EAGER_BODY_LIMIT + 1)
    server.script(PATH, Reply(status=200, body=body, headers=()))
    async with httpx.AsyncClient(transport=AiohttpTransport()) as http:
        request = http.build_request("GET", f"http://127.0.0.1:{server.port}{PATH}")
        response = await http.send(request, stream=True)
        with pytest.raises(httpx.ResponseNotRead):
            _ = response.content
        received = b"".join([chunk async for chunk in response.aiter_bytes()])
        await response.aclose()
    assert received == body
