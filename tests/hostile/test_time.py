"""Item 1: every request bounded in time, against a server that answers a byte at a time."""

from __future__ import annotations

import io
import time
from typing import Any

import anyio
import httpx
import pytest

from pixverse_speech import APITimeoutError, DownloadError

from ._server import Reply, Request, head
from ._support import AUDIO_ID, as_json, record
from .conftest import assert_no_token_in

pytestmark = pytest.mark.anyio


def trickling_body(interval: float) -> Any:
    """Headers at once, then the JSON body one byte every ``interval`` seconds."""

    async def handler(request: Request, reply: Reply) -> bool:
        body = as_json(record())
        await reply.send(
            head(200, {"Content-Type": "application/json", "Content-Length": str(len(body))})
        )
        await reply.trickle(body, interval)
        return True

    return handler


async def test_get_timeout_3_against_a_byte_a_second_ends_within_3_5_s(
    serve: Any, client: Any
) -> None:
    """get(timeout=3, max_retries=0), body sent a byte a second: APITimeoutError within 3.5 s."""
    server = serve(trickling_body(1.0))
    async with client(server, timeout=3, max_retries=0) as api:
        started = time.monotonic()
        with anyio.fail_after(8), pytest.raises(APITimeoutError) as caught:
            await api.get(AUDIO_ID)
        elapsed = time.monotonic() - started
    assert elapsed < 3.5, f"took {elapsed:.2f}s"
    assert "timeout=3s" in str(caught.value)
    assert caught.value.audio_id == AUDIO_ID
    assert_no_token_in(str(caught.value))


async def test_trickled_headers_are_bounded_too(serve: Any, client: Any) -> None:
    """Headers sent a byte every 0.05 s cannot hold a request past its timeout, retries counted."""

    async def handler(request: Request, reply: Reply) -> bool:
        await reply.trickle(
            head(200, {"Content-Type": "application/json", "X-Pad": "x" * 200}), 0.05
        )
        return False

    server = serve(handler)
    async with client(server, timeout=0.4, max_retries=1) as api:
        started = time.monotonic()
        with anyio.fail_after(5), pytest.raises(APITimeoutError):
            await api.get(AUDIO_ID)
        elapsed = time.monotonic() - started
    assert len(server.requests) == 2  # (max_retries + 1) attempts
    assert elapsed < 2 * 0.4 + 0.5


async def test_create_in_flight_is_bounded_and_not_repeated(serve: Any, client: Any) -> None:
    """A create whose answer trickles ends at its timeout, sent once, and says the job may exist."""
    server = serve(trickling_body(0.05))
    async with client(server, timeout=0.4, max_retries=3) as api:
        with anyio.fail_after(5), pytest.raises(APITimeoutError) as caught:
            await api.create("Hello.", "voice")
    assert len(server.requests) == 1
    assert caught.value.job_may_exist is True


async def test_httpx_timeout_keeps_its_per_read_meaning(serve: Any, client: Any) -> None:
    """An httpx.Timeout bounds each read, not the whole request: a steady trickle completes."""

    async def handler(request: Request, reply: Reply) -> bool:
        body = as_json(record())
        await reply.send(
            head(200, {"Content-Type": "application/json", "Content-Length": str(len(body))})
        )
        await reply.send(body[:-8])
        await reply.trickle(body[-8:], 0.1)  # 0.8 s in all, no gap as long as 0.5 s
        return True

    server = serve(handler)
    async with client(server, timeout=httpx.Timeout(0.5)) as api:
        with anyio.fail_after(5):
            speech = await api.get(AUDIO_ID)
    assert speech.audio_id == AUDIO_ID


async def test_download_stall_is_a_timeout_per_chunk(serve: Any, client: Any) -> None:
    """A media host that stops sending mid-body fails the download after the client's timeout."""

    async def handler(request: Request, reply: Reply) -> bool:
        await reply.send(head(200, {"Content-Length": "1000"}) + b"x" * 10)
        await reply.hold(30)
        return False

    server = serve(handler)
    async with client(server, timeout=0.3) as api:
        with anyio.fail_after(5), pytest.raises(DownloadError) as caught:
            await api.download(server.url("/media/a.mp3"), io.BytesIO())
    assert "timed out" in str(caught.value)


async def test_download_overall_timeout_bounds_a_steady_trickle(serve: Any, client: Any) -> None:
    """A body that never stalls but never ends is cut by download(timeout=...)."""

    async def handler(request: Request, reply: Reply) -> bool:
        await reply.send(head(200, {"Content-Length": "100000"}))
        await reply.trickle(b"x" * 100_000, 0.02)
        return False

    server = serve(handler)
    sink = io.BytesIO()
    async with client(server, timeout=0.3) as api:
        with anyio.fail_after(5), pytest.raises(DownloadError) as caught:
            await api.download(server.url("/media/a.mp3"), sink, timeout=0.5)
    assert "took longer than timeout=0.5s" in str(caught.value)
