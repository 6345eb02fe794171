"""Transport failures and retryable statuses over real sockets: what is retried, when, and how."""

from __future__ import annotations

import time
from email.utils import formatdate

import pytest

from pixverse_speech import (
    APIConnectionError,
    APITimeoutError,
    RateLimitError,
    ServerError,
)

from .server import LoopbackServer, drop, html, reply, truncated
from .support import AUDIO_ID, TOKEN, client, raises, record, speech_url

pytestmark = pytest.mark.anyio

PATH = speech_url(AUDIO_ID)

NGINX_502 = """<html>
<head><title>502 Bad Gateway</title></head>
<body>
<center><h1>502 Bad Gateway</h1></center>
<hr><center>nginx</center>
</body>
</html>
"""


async def test_dropped_connection_is_retried_then_succeeds(server: LoopbackServer) -> None:
    """A connection closed without an answer is retried on a new connection, which succeeds."""
    server.script(PATH, drop(), reply(record(AUDIO_ID)))
    async with client(server, max_retries=2) as api:
        speech = await api.get(AUDIO_ID)
    assert speech.audio_id == AUDIO_ID
    assert len(server.requests) == 2
    assert len({r.connection for r in server.requests}) == 2


async def test_dropped_connection_without_retries_raises_connection_error(
    server: LoopbackServer,
) -> None:
    """With max_retries=0 a dropped connection raises APIConnectionError after one request."""
    server.script(PATH, drop())
    async with client(server, max_retries=0) as api:
        with raises(APIConnectionError) as caught:
            await api.get(AUDIO_ID)
    assert not isinstance(caught.value, APITimeoutError)
    assert caught.value.audio_id == AUDIO_ID
    assert len(server.requests) == 1


async def test_dropped_keepalive_connection_mid_session_is_recovered(
    server: LoopbackServer,
) -> None:
    """A kept-alive connection the server drops mid-session is replaced and the get succeeds."""
    server.script(PATH, reply(record(AUDIO_ID)), drop(), reply(record(AUDIO_ID)))
    async with client(server, max_retries=1) as api:
        await api.get(AUDIO_ID)
        await api.get(AUDIO_ID)
        await api.get(AUDIO_ID)
    assert len(server.requests) == 4
    first, second, third, fourth = server.requests
    assert first.connection == second.connection  # the drop happened on a kept-alive connection
    assert third.connection != second.connection
    assert fourth.connection == third.connection


async def test_slow_response_times_out_after_retries(server: LoopbackServer) -> None:
    """A response slower than timeout=0.2 raises APITimeoutError after 1 + max_retries attempts."""
    server.script(PATH, reply(record(AUDIO_ID), delay=10.0))
    started = time.monotonic()
    async with client(server, timeout=0.2, max_retries=1) as api:
        with raises(APITimeoutError) as caught:
            await api.get(AUDIO_ID)
    elapsed = time.monotonic() - started
    assert isinstance(caught.value, APIConnectionError)
    assert caught.value.audio_id == AUDIO_ID
    assert len(server.requests) == 2
    assert len({r.connection for r in server.requests}) == 2
    assert elapsed >= 2 * 0.2 * 0.9


async def test_slow_response_within_timeout_succeeds(server: LoopbackServer) -> None:
    """A response a little slow but inside the timeout is returned, with a single request."""
    server.script(PATH, reply(record(AUDIO_ID), delay=0.05))
    async with client(server, timeout=2.0, max_retries=2) as api:
        speech = await api.get(AUDIO_ID)
    assert speech.audio_id == AUDIO_ID
    assert len(server.requests) == 1


async def test_rate_limit_retry_after_is_honoured(server: LoopbackServer) -> None:
    """A 429 with Retry-After: 1 is retried no sooner than one second later."""
    server.script(
        PATH,
        reply({"error": "Account busy", "code": 429}, 429, headers={"Retry-After": "1"}),
        reply(record(AUDIO_ID)),
    )
    async with client(server, max_retries=2) as api:
        speech = await api.get(AUDIO_ID)
    assert speech.audio_id == AUDIO_ID
    first, second = server.requests
    gap = second.received_at - first.received_at
    assert gap >= 0.95, f"retried after {gap:.3f} s"


async def test_rate_limit_retry_after_ms_is_honoured(server: LoopbackServer) -> None:
    """A 429 with retry-after-ms: 300 is retried no sooner than 0.3 s later."""
    server.script(
        PATH,
        reply({"error": "Account busy", "code": 429}, 429, headers={"retry-after-ms": "300"}),
        reply(record(AUDIO_ID)),
    )
    async with client(server, max_retries=2) as api:
        await api.get(AUDIO_ID)
    first, second = server.requests
    gap = second.received_at - first.received_at
    assert gap >= 0.28, f"retried after {gap:.3f} s"


@pytest.mark.parametrize(
    "retry_after",
    [pytest.param("0", id="zero-seconds"), pytest.param(formatdate(0, usegmt=True), id="past")],
)
async def test_rate_limit_retries_until_exhausted(server: LoopbackServer, retry_after: str) -> None:
    """A 429 that never clears is retried max_retries times, then raises RateLimitError."""
    server.script(
        PATH,
        reply({"error": "Account busy", "code": 429}, 429, headers={"Retry-After": retry_after}),
    )
    async with client(server, max_retries=2) as api:
        with raises(RateLimitError) as caught:
            await api.get(AUDIO_ID)
    assert len(server.requests) == 3
    assert caught.value.status_code == 429
    assert caught.value.retry_after == 0
    assert caught.value.message == "Account busy"
    assert caught.value.audio_id == AUDIO_ID


async def test_rate_limit_with_very_long_retry_after_is_raised_at_once(
    server: LoopbackServer,
) -> None:
    """A 429 asking for an hour's pause is raised at once with that retry_after, not waited for."""
    server.script(PATH, reply({"error": "Account busy"}, 429, headers={"Retry-After": "3600"}))
    started = time.monotonic()
    async with client(server, max_retries=3) as api:
        with raises(RateLimitError) as caught:
            await api.get(AUDIO_ID)
    assert caught.value.retry_after == 3600
    assert len(server.requests) == 1
    assert time.monotonic() - started < 5.0


@pytest.mark.parametrize("status", [408, 500, 503, 504])
async def test_retryable_status_is_retried_then_succeeds(
    server: LoopbackServer, status: int
) -> None:
    """A 408/500/503/504 answer is retried and the retry's record is returned."""
    server.script(PATH, reply({"error": "try again", "code": status}, status), reply(record()))
    async with client(server, max_retries=1) as api:
        speech = await api.get(AUDIO_ID)
    assert speech.audio_id == AUDIO_ID
    assert len(server.requests) == 2


async def test_service_unavailable_retry_after_is_honoured(server: LoopbackServer) -> None:
    """A 503 with Retry-After: 0.6 is retried no sooner than 0.6 s later."""
    server.script(
        PATH,
        reply({"error": "maintenance", "code": 503}, 503, headers={"Retry-After": "0.6"}),
        reply(record(AUDIO_ID)),
    )
    async with client(server, max_retries=2) as api:
        await api.get(AUDIO_ID)
    first, second = server.requests
    gap = second.received_at - first.received_at
    assert gap >= 0.55, f"retried after {gap:.3f} s"


async def test_service_unavailable_with_very_long_retry_after_is_raised_at_once(
    server: LoopbackServer,
) -> None:
    """A 503 asking for an hour's pause is raised at once, not retried early."""
    server.script(
        PATH, reply({"error": "maintenance", "code": 503}, 503, headers={"Retry-After": "3600"})
    )
    async with client(server, max_retries=1) as api:
        with raises(ServerError) as caught:
            await api.get(AUDIO_ID)
    assert caught.value.status_code == 503
    assert len(server.requests) == 1


async def test_html_502_is_retried_then_raises_readable_server_error(
    server: LoopbackServer,
) -> None:
    """An HTML 502 from a proxy is retried, then raises ServerError with a short message."""
    server.script(PATH, html(NGINX_502, 502))
    async with client(server, max_retries=1) as api:
        with raises(ServerError) as caught:
            await api.get(AUDIO_ID)
    exc = caught.value
    assert len(server.requests) == 2
    assert exc.status_code == 502
    assert exc.body is None
    assert "502 Bad Gateway" in exc.message
    assert "\n" not in str(exc)
    assert len(str(exc)) < 400
    assert exc.audio_id == AUDIO_ID


@pytest.mark.parametrize("position", [0, 120, 135, 145, 5000])
async def test_long_html_error_page_echoing_the_token_never_shows_it(
    server: LoopbackServer, position: int
) -> None:
    """A long HTML error page that echoes the request's token shows no part of it in the error."""
    page = "<html><body><pre>" + "x" * position + f" Authorization: Bearer {TOKEN} " + "y" * 400
    page += "</pre></body></html>"
    server.script(PATH, html(page, 500))
    async with client(server, max_retries=0) as api:
        with raises(ServerError) as caught:
            await api.get(AUDIO_ID)
    assert caught.value.status_code == 500


async def test_truncated_body_raises_connection_error_after_retries(
    server: LoopbackServer,
) -> None:
    """A body cut short of its Content-Length raises APIConnectionError once retries run out."""
    server.script(PATH, truncated(record(AUDIO_ID)))
    async with client(server, max_retries=1) as api:
        with raises(APIConnectionError) as caught:
            await api.get(AUDIO_ID)
    assert len(server.requests) == 2
    assert len({r.connection for r in server.requests}) == 2
    assert caught.value.audio_id == AUDIO_ID


async def test_connection_refused_raises_connection_error() -> None:
    """A port nobody listens on raises APIConnectionError."""
    probe = LoopbackServer()
    probe.start()
    assert probe.stop() == []  # the port (still in probe.port) is now closed
    async with client(probe, timeout=2.0, max_retries=0) as api:
        with raises(APIConnectionError) as caught:
            await api.get(AUDIO_ID)
    assert not isinstance(caught.value, APITimeoutError)
