"""Items 2 and 3: bodies nested too deep, too large, endless or compressed a thousandfold."""

from __future__ import annotations

import contextlib
import io
import tracemalloc
from typing import Any

import anyio
import pytest

from pixverse_speech import (
    AudioStatus,
    DownloadSizeError,
    ResponseDecodeError,
    ServerError,
    Speech,
    SpeechError,
    WaitTimeoutError,
)

from ._server import Reply, Request, head
from ._support import AUDIO_ID, PLAIN_ID, endless_chunked, gzip_bomb, json_reply, record

pytestmark = pytest.mark.anyio

DEEP = b"[" * 100_000 + b"]" * 100_000
MIB = 1 << 20


def answer(status: int, body: bytes, headers: dict[str, str] | None = None) -> Any:
    async def handler(request: Request, reply: Reply) -> bool:
        await reply.respond(status, body, {"Content-Type": "application/json", **(headers or {})})
        return True

    return handler


# -- item 2: nesting -------------------------------------------------------------------------------


async def test_deeply_nested_2xx_body_is_a_decode_error(serve: Any, client: Any) -> None:
    """A 2xx body nested 100,000 levels deep raises ResponseDecodeError, not RecursionError."""
    server = serve(answer(200, DEEP))
    async with client(server) as api:
        with pytest.raises(ResponseDecodeError) as caught:
            await api.get(AUDIO_ID)
    assert "not JSON" in str(caught.value)


async def test_deeply_nested_error_body_keeps_the_status_error(serve: Any, client: Any) -> None:
    """A 503 whose body is nested 100,000 deep is a ServerError, the body treated as undecodable."""
    server = serve(answer(503, DEEP))
    async with client(server) as api:
        with pytest.raises(ServerError) as caught:
            await api.get(AUDIO_ID)
    assert caught.value.status_code == 503
    assert caught.value.body is None


async def test_deeply_nested_body_fails_one_slot_of_wait_many(serve: Any, client: Any) -> None:
    """wait_many over a deep body ends that id's wait with a SpeechError; the other job is fine."""

    async def handler(request: Request, reply: Reply) -> bool:
        if PLAIN_ID in request.target:
            await reply.respond(200, DEEP, {"Content-Type": "application/json"})
            return True
        return await json_reply(reply, record("job-2"))

    server = serve(handler)
    async with client(server) as api:
        with anyio.fail_after(10):
            results = await api.wait_many([PLAIN_ID, "job-2"], timeout=30)
    assert isinstance(results[0], WaitTimeoutError)
    assert isinstance(results[0].last_error, ResponseDecodeError)
    assert isinstance(results[1], Speech)
    assert results[1].audio_id == "job-2"


# -- item 3: size ----------------------------------------------------------------------------------


async def test_gzip_bomb_api_response_is_capped_after_decompression(
    serve: Any, client: Any
) -> None:
    """A 64 MiB gzip bomb is refused at max_response_bytes, inflated a step at a time (low peak)."""
    bomb = gzip_bomb(64 * MIB)
    server = serve(answer(200, bomb, {"Content-Encoding": "gzip"}))
    async with client(server, max_response_bytes=MIB) as api:
        tracemalloc.start()
        try:
            with pytest.raises(ResponseDecodeError) as caught:
                await api.get(AUDIO_ID)
            peak = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
    assert "max_response_bytes (1,048,576 bytes)" in str(caught.value)
    assert peak < 16 * MIB, f"peak {peak / MIB:.1f} MiB"


async def test_default_cap_is_16_mib(serve: Any, client: Any) -> None:
    """Without max_response_bytes, a body inflating past 16 MiB is refused, naming the cap."""
    server = serve(answer(200, gzip_bomb(32 * MIB), {"Content-Encoding": "gzip"}))
    async with client(server) as api:
        with pytest.raises(ResponseDecodeError) as caught:
            await api.get(AUDIO_ID)
    assert "max_response_bytes (16,777,216 bytes)" in str(caught.value)


async def test_endless_chunked_api_body_is_cut_at_the_cap(serve: Any, client: Any) -> None:
    """A chunked body that never ends is read up to max_response_bytes, then refused."""

    async def handler(request: Request, reply: Reply) -> bool:
        return await endless_chunked(reply, 64 * MIB)

    server = serve(handler)
    async with client(server, max_response_bytes=MIB) as api:
        with anyio.fail_after(10), pytest.raises(ResponseDecodeError) as caught:
            await api.get(AUDIO_ID)
    assert "max_response_bytes" in str(caught.value)


async def test_oversized_error_body_keeps_its_status_error(serve: Any, client: Any) -> None:
    """A 502 with a body past the cap is still a ServerError, saying the body was too large."""
    server = serve(answer(502, gzip_bomb(8 * MIB), {"Content-Encoding": "gzip"}))
    async with client(server, max_response_bytes=MIB) as api:
        with pytest.raises(ServerError) as caught:
            await api.get(AUDIO_ID)
    assert caught.value.status_code == 502
    assert "max_response_bytes" in str(caught.value)


async def test_download_stops_at_the_first_byte_past_file_size(serve: Any, client: Any) -> None:
    """More bytes than the job's file_size: DownloadSizeError, and no byte past it is kept."""

    async def handler(request: Request, reply: Reply) -> bool:
        return await endless_chunked(reply, 8 * MIB, "audio/mpeg")

    server = serve(handler)
    speech = Speech(
        audio_id=AUDIO_ID,
        audio_status=AudioStatus.COMPLETED,
        audio_status_final=True,
        url=server.url("/media/a.mp3"),
        file_size=100_000,
    )
    sink = io.BytesIO()
    async with client(server) as api:
        with pytest.raises(DownloadSizeError) as caught:
            await api.download(speech, sink, chunk_size=4096)
    assert len(sink.getvalue()) <= 100_000
    assert caught.value.expected == 100_000
    assert "file_size" in str(caught.value)


async def test_endless_download_stops_at_max_bytes(serve: Any, client: Any) -> None:
    """Without file_size or Content-Length, an endless body stops at download(max_bytes=...)."""

    async def handler(request: Request, reply: Reply) -> bool:
        return await endless_chunked(reply, 64 * MIB, "audio/mpeg")

    server = serve(handler)
    sink = io.BytesIO()
    async with client(server) as api:
        with anyio.fail_after(10), pytest.raises(DownloadSizeError) as caught:
            await api.download(server.url("/media/a.mp3"), sink, max_bytes=MIB)
    assert len(sink.getvalue()) <= MIB
    assert caught.value.expected == MIB
    assert "max_bytes" in str(caught.value)


async def test_gzip_bomb_download_is_capped_with_a_low_peak(serve: Any, client: Any) -> None:
    """A gzip bomb from the media host stops at max_bytes, inflated a chunk at a time."""
    bomb = gzip_bomb(64 * MIB)
    server = serve(answer(200, bomb, {"Content-Encoding": "gzip", "Content-Type": "audio/mpeg"}))
    written = 0

    class Counter:
        def write(self, data: bytes) -> int:
            nonlocal written
            written += len(data)
            return len(data)

    async with client(server) as api:
        tracemalloc.start()
        try:
            with pytest.raises(DownloadSizeError):
                await api.download(server.url("/media/a.mp3"), Counter(), max_bytes=4 * MIB)
            peak = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
    assert written <= 4 * MIB
    assert peak < 16 * MIB, f"peak {peak / MIB:.1f} MiB"


async def test_download_past_content_length_is_refused(serve: Any, client: Any) -> None:
    """A plain body longer than its Content-Length is cut there (the rest is never read)."""

    async def handler(request: Request, reply: Reply) -> bool:
        await reply.send(head(200, {"Content-Length": "1000"}) + b"x" * 5000)
        return False

    server = serve(handler)
    sink = io.BytesIO()
    async with client(server) as api:
        with contextlib.suppress(SpeechError):
            await api.download(server.url("/media/a.mp3"), sink)
    assert len(sink.getvalue()) <= 1000


async def test_large_non_json_body_is_excerpted_within_bounds(serve: Any, client: Any) -> None:
    """A 15 MiB body of words that is not JSON gives a short excerpt, without a memory blow-up."""
    server = serve(answer(200, b"a " * (15 * MIB // 2)))
    async with client(server) as api:
        tracemalloc.start()
        try:
            with pytest.raises(ResponseDecodeError) as caught:
                await api.get(AUDIO_ID)
            peak = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
    assert "not JSON" in str(caught.value)
    assert len(str(caught.value)) < 400
    assert peak < 64 * MIB, f"peak {peak / MIB:.1f} MiB"
