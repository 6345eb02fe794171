"""download(): to a path (atomically) or a file object, never with the token, with retries."""

from __future__ import annotations

import errno
import io
import os
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import anyio
import httpx
import pytest
import respx

from pixverse_speech import (
    AsyncSpeechAPI,
    AudioNotAvailableError,
    DownloadError,
    DownloadFileError,
    DownloadSizeError,
    Speech,
)
from pixverse_speech._converter import structure

pytestmark = pytest.mark.anyio

URL = "https://media.pixverse.ai/pixverse/audio/speech/11223344.mp3"
AUDIO = bytes(range(256)) * 40  # 10,240 bytes


@pytest.fixture
def media() -> Iterator[respx.MockRouter]:
    """respx routes by absolute URL (the media host is not the API)."""
    with respx.mock(assert_all_called=False) as mock:
        yield mock


@pytest.fixture
async def dl(media: respx.MockRouter, wire: Any) -> AsyncIterator[AsyncSpeechAPI]:
    """A client whose requests all go to the respx routes of ``media``."""
    async with AsyncSpeechAPI(wire.TOKEN) as client:
        yield client


def _completed(wire: Any, **fields: Any) -> Speech:
    return structure(wire.record(1, **fields), Speech)


class Chunks(httpx.AsyncByteStream):
    """A response body sent in parts; an exception among them breaks the stream there."""

    def __init__(self, *parts: bytes | Exception) -> None:
        self.parts = parts

    async def __aiter__(self) -> AsyncIterator[bytes]:
        for part in self.parts:
            if isinstance(part, Exception):
                raise part
            yield part


def _names(directory: Path) -> list[str]:
    """The names of the files in ``directory``, sorted."""
    return sorted(p.name for p in directory.iterdir())


def _leftovers(directory: Path, keep: str) -> list[str]:
    return [name for name in _names(directory) if name != keep]


# -- the token never reaches the media host ----------------------------------------------------


async def test_media_request_has_no_authorization(
    dl: AsyncSpeechAPI, media: respx.MockRouter, wire: Any, tmp_path: Path
) -> None:
    """The download request carries no Authorization header; API requests still do."""
    api_route = media.get(f"{wire.BASE_URL}pixverse/speech/{wire.AUDIO_ID}").mock(
        return_value=wire.ok(wire.record(1, url=URL))
    )
    route = media.get(URL).mock(return_value=httpx.Response(200, content=AUDIO))
    speech = await dl.get(wire.AUDIO_ID)
    assert await dl.download(speech, tmp_path / "a.mp3") == len(AUDIO)
    media_headers = route.calls.last.request.headers
    assert "authorization" not in media_headers
    assert wire.TOKEN not in str(route.calls.last.request.url)
    assert all(wire.TOKEN not in value for value in media_headers.values())
    assert api_route.calls.last.request.headers["authorization"] == f"Bearer {wire.TOKEN}"


async def test_no_authorization_even_from_a_callers_client(
    media: respx.MockRouter, wire: Any, tmp_path: Path
) -> None:
    """A caller's client with default Authorization and auth still sends none to the media host."""
    route = media.get(URL).mock(return_value=httpx.Response(200, content=AUDIO))
    async with httpx.AsyncClient(
        headers={"Authorization": f"Bearer {wire.TOKEN}"}, auth=httpx.BasicAuth("u", "p")
    ) as client:
        api = AsyncSpeechAPI(wire.TOKEN, http_client=client)
        await api.download(URL, tmp_path / "a.mp3")
    assert "authorization" not in route.calls.last.request.headers


async def test_redirect_is_followed_without_authorization(
    dl: AsyncSpeechAPI, media: respx.MockRouter, tmp_path: Path
) -> None:
    """A redirect of the media host is followed, and no hop gets an Authorization header."""
    first = media.get(URL).mock(
        return_value=httpx.Response(302, headers={"Location": "https://cdn.example.net/a.mp3"})
    )
    second = media.get("https://cdn.example.net/a.mp3").mock(
        return_value=httpx.Response(200, content=AUDIO)
    )
    assert await dl.download(URL, tmp_path / "a.mp3") == len(AUDIO)
    assert "authorization" not in first.calls.last.request.headers
    assert "authorization" not in second.calls.last.request.headers


# -- writing a path ----------------------------------------------------------------------------


async def test_path_is_written_whole_and_no_temporary_is_left(
    dl: AsyncSpeechAPI, media: respx.MockRouter, wire: Any, tmp_path: Path
) -> None:
    """A path gets the whole body, with the usual permissions, and nothing else is left."""
    media.get(URL).mock(return_value=httpx.Response(200, stream=Chunks(AUDIO[:100], AUDIO[100:])))
    target = tmp_path / "speech.mp3"
    written = await dl.download(_completed(wire, url=URL, file_size=len(AUDIO)), str(target))
    assert written == len(AUDIO)
    assert target.read_bytes() == AUDIO
    assert _leftovers(tmp_path, "speech.mp3") == []
    umask = os.umask(0)
    os.umask(umask)
    assert target.stat().st_mode & 0o777 == 0o666 & ~umask


async def test_existing_file_is_replaced_only_when_complete(
    dl: AsyncSpeechAPI, media: respx.MockRouter, tmp_path: Path
) -> None:
    """A failed download leaves the old file untouched; a good one replaces it."""
    target = tmp_path / "speech.mp3"
    target.write_bytes(b"old audio")
    media.get(URL).mock(side_effect=[httpx.Response(404), httpx.Response(200, content=AUDIO)])
    with pytest.raises(DownloadError) as info:
        await dl.download(URL, target)
    assert info.value.status_code == 404
    assert target.read_bytes() == b"old audio"
    assert _leftovers(tmp_path, "speech.mp3") == []
    await dl.download(URL, target)
    assert target.read_bytes() == AUDIO


async def test_size_mismatch_is_an_error_and_leaves_no_file(
    dl: AsyncSpeechAPI, media: respx.MockRouter, wire: Any, tmp_path: Path
) -> None:
    """Fewer bytes than file_size: DownloadSizeError, and neither file nor temporary is left."""
    route = media.get(URL).mock(return_value=httpx.Response(200, content=AUDIO[:-10]))
    speech = _completed(wire, url=URL, file_size=len(AUDIO))
    with pytest.raises(DownloadSizeError) as info:
        await dl.download(speech, tmp_path / "speech.mp3")
    assert info.value.expected == len(AUDIO)
    assert info.value.received == len(AUDIO) - 10
    assert info.value.audio_id == wire.AUDIO_ID
    assert "file_size" in str(info.value)
    assert _names(tmp_path) == []
    assert route.call_count == 1


async def test_directory_destination_is_refused_before_any_request(
    dl: AsyncSpeechAPI, media: respx.MockRouter, tmp_path: Path
) -> None:
    """A directory is not a file name: DownloadFileError from IsADirectoryError, nothing sent."""
    route = media.get(URL).mock(return_value=httpx.Response(200, content=AUDIO))
    with pytest.raises(DownloadFileError) as caught:
        await dl.download(URL, tmp_path)
    assert isinstance(caught.value.__cause__, IsADirectoryError)
    assert caught.value.errno == errno.EISDIR
    assert route.call_count == 0


async def test_missing_directory_is_refused_before_any_request(
    dl: AsyncSpeechAPI, media: respx.MockRouter, tmp_path: Path
) -> None:
    """A destination in a missing directory fails before the request."""
    route = media.get(URL).mock(return_value=httpx.Response(200, content=AUDIO))
    with pytest.raises(DownloadFileError) as caught:
        await dl.download(URL, tmp_path / "nope" / "a.mp3")
    assert isinstance(caught.value.__cause__, FileNotFoundError)
    assert caught.value.errno == errno.ENOENT
    assert route.call_count == 0


async def test_cancellation_removes_the_temporary(
    dl: AsyncSpeechAPI, media: respx.MockRouter, tmp_path: Path
) -> None:
    """A download cancelled mid-stream leaves neither the file nor its temporary."""
    receiving = anyio.Event()

    class Hanging(httpx.AsyncByteStream):
        async def __aiter__(self) -> AsyncIterator[bytes]:
            yield AUDIO[:10]
            receiving.set()
            await anyio.sleep_forever()
            yield b""  # pragma: no cover

    media.get(URL).mock(return_value=httpx.Response(200, stream=Hanging()))
    with anyio.CancelScope() as scope:
        async with anyio.create_task_group() as tg:

            async def cancel_when_receiving() -> None:
                await receiving.wait()
                assert len(_names(tmp_path)) == 1  # the temporary, being written
                scope.cancel()

            tg.start_soon(cancel_when_receiving)
            await dl.download(URL, tmp_path / "a.mp3", chunk_size=1)
    assert scope.cancelled_caught
    assert _names(tmp_path) == []


# -- writing a file object ---------------------------------------------------------------------


class Recorder:
    """A write-only, non-seekable binary sink that records each write."""

    def __init__(self) -> None:
        self.writes: list[bytes] = []

    def write(self, data: bytes) -> int:
        self.writes.append(bytes(data))
        return len(data)


async def test_file_object_gets_the_body_in_chunks(
    dl: AsyncSpeechAPI, media: respx.MockRouter
) -> None:
    """A file object receives the body chunk by chunk, no chunk above chunk_size."""
    media.get(URL).mock(return_value=httpx.Response(200, content=AUDIO))
    sink = Recorder()
    assert await dl.download(URL, sink, chunk_size=1000) == len(AUDIO)
    assert b"".join(sink.writes) == AUDIO
    assert len(sink.writes) == 11
    assert max(len(chunk) for chunk in sink.writes) == 1000


async def test_bytesio_keeps_what_was_there_before(
    dl: AsyncSpeechAPI, media: respx.MockRouter
) -> None:
    """Writing starts at the object's position and leaves it open."""
    media.get(URL).mock(return_value=httpx.Response(200, content=AUDIO))
    buffer = io.BytesIO()
    buffer.write(b"ID3")
    await dl.download(URL, buffer)
    assert not buffer.closed
    assert buffer.getvalue() == b"ID3" + AUDIO


async def test_short_writes_are_completed(dl: AsyncSpeechAPI, media: respx.MockRouter) -> None:
    """A raw file that takes fewer bytes than given gets the rest in further writes."""

    class Short(Recorder):
        def write(self, data: bytes) -> int:
            self.writes.append(bytes(data[:7]))
            return min(7, len(data))

    media.get(URL).mock(return_value=httpx.Response(200, content=AUDIO[:50]))
    sink = Short()
    assert await dl.download(URL, sink) == 50
    assert b"".join(sink.writes) == AUDIO[:50]


async def test_async_write_is_awaited(dl: AsyncSpeechAPI, media: respx.MockRouter) -> None:
    """An object whose write is a coroutine function (an async file) is awaited."""

    class AsyncSink:
        def __init__(self) -> None:
            self.data = bytearray()

        async def write(self, data: bytes) -> int:
            await anyio.lowlevel.checkpoint()
            self.data += data
            return len(data)

    media.get(URL).mock(return_value=httpx.Response(200, content=AUDIO))
    sink = AsyncSink()
    assert await dl.download(URL, sink) == len(AUDIO)
    assert bytes(sink.data) == AUDIO


async def test_anyio_async_file_is_written(
    dl: AsyncSpeechAPI, media: respx.MockRouter, tmp_path: Path
) -> None:
    """An anyio AsyncFile works as a destination and is left open."""
    media.get(URL).mock(return_value=httpx.Response(200, content=AUDIO))
    target = tmp_path / "async.mp3"
    async with await anyio.open_file(target, "wb") as file:
        assert await dl.download(URL, file, chunk_size=4096) == len(AUDIO)
        await file.flush()
    assert await anyio.Path(target).read_bytes() == AUDIO


# -- refused before any request ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("fields", "match"),
    [
        ({"status": 10}, "not COMPLETED"),
        ({"status": 5}, "not COMPLETED"),
        ({"status": 8}, "not COMPLETED"),
        ({"status": None}, "not COMPLETED"),
        ({"status": 1, "url": None}, "no url"),
        ({"status": 1, "url": "  "}, "no url"),
    ],
)
async def test_speech_without_audio_is_refused(
    dl: AsyncSpeechAPI, media: respx.MockRouter, wire: Any, tmp_path: Path, fields: Any, match: str
) -> None:
    """A job that is not COMPLETED or has no url is AudioNotAvailableError, nothing sent."""
    route = media.get(URL).mock(return_value=httpx.Response(200, content=AUDIO))
    options = dict(fields)
    body = wire.record(options.pop("status"), **options)
    speech = structure(body, Speech)
    with pytest.raises(AudioNotAvailableError, match=match) as info:
        await dl.download(speech, tmp_path / "a.mp3")
    assert isinstance(info.value, DownloadError)
    assert info.value.audio_id == wire.AUDIO_ID
    assert route.call_count == 0
    assert _names(tmp_path) == []


@pytest.mark.parametrize(
    ("source", "destination", "kwargs", "error"),
    [
        ("not a url", "a.mp3", {}, ValueError),
        ("ftp://media.pixverse.ai/a.mp3", "a.mp3", {}, ValueError),
        ("/relative/a.mp3", "a.mp3", {}, ValueError),
        (42, "a.mp3", {}, TypeError),
        (URL, 42, {}, TypeError),
        (URL, b"a.mp3", {}, TypeError),
        (URL, "a.mp3", {"chunk_size": 0}, ValueError),
        (URL, "a.mp3", {"chunk_size": 1.5}, TypeError),
    ],
)
async def test_bad_arguments_are_refused_before_any_request(
    dl: AsyncSpeechAPI,
    media: respx.MockRouter,
    tmp_path: Path,
    source: Any,
    destination: Any,
    kwargs: Any,
    error: type[Exception],
) -> None:
    """A bad source, destination or chunk size fails before any request, creating nothing."""
    if isinstance(destination, str):
        destination = tmp_path / destination
    with pytest.raises(error):
        await dl.download(source, destination, **kwargs)
    assert len(media.calls) == 0
    assert _names(tmp_path) == []


# -- retries -----------------------------------------------------------------------------------


async def test_transient_failures_are_retried(
    dl: AsyncSpeechAPI, media: respx.MockRouter, tmp_path: Path, clock: Any
) -> None:
    """A connection error and a 503 are retried; the file is the complete body."""
    route = media.get(URL).mock(
        side_effect=[
            httpx.ConnectError("refused"),
            httpx.Response(503),
            httpx.Response(200, content=AUDIO),
        ]
    )
    target = tmp_path / "a.mp3"
    assert await dl.download(URL, target) == len(AUDIO)
    assert route.call_count == 3
    assert len(clock.sleeps) == 2
    assert target.read_bytes() == AUDIO


async def test_rate_limit_retry_after_is_honoured(
    dl: AsyncSpeechAPI, media: respx.MockRouter, clock: Any
) -> None:
    """A 429 from the media host is retried after its Retry-After."""
    media.get(URL).mock(
        side_effect=[
            httpx.Response(429, headers={"Retry-After": "4"}),
            httpx.Response(200, content=AUDIO),
        ]
    )
    sink = io.BytesIO()
    await dl.download(URL, sink)
    assert clock.sleeps == [4.0]
    assert sink.getvalue() == AUDIO


async def test_broken_stream_restarts_from_the_beginning(
    dl: AsyncSpeechAPI, media: respx.MockRouter, wire: Any, tmp_path: Path
) -> None:
    """A stream broken midway is fetched again and the partial bytes are discarded."""
    route = media.get(URL).mock(
        side_effect=[
            httpx.Response(200, stream=Chunks(AUDIO[:3000], httpx.ReadError("reset"))),
            httpx.Response(200, stream=Chunks(AUDIO[:5000], AUDIO[5000:])),
        ]
    )
    target = tmp_path / "a.mp3"
    speech = _completed(wire, url=URL, file_size=len(AUDIO))
    assert await dl.download(speech, target, chunk_size=1000) == len(AUDIO)
    assert target.read_bytes() == AUDIO
    assert route.call_count == 2
    assert _leftovers(tmp_path, "a.mp3") == []


async def test_seekable_object_is_rewound_on_retry(
    dl: AsyncSpeechAPI, media: respx.MockRouter
) -> None:
    """A seekable file object is rewound to where it started and truncated before a retry."""
    media.get(URL).mock(
        side_effect=[
            httpx.Response(200, stream=Chunks(AUDIO[:3000], httpx.RemoteProtocolError("eof"))),
            httpx.Response(200, content=AUDIO),
        ]
    )
    buffer = io.BytesIO(b"HEAD")
    buffer.seek(4)
    await dl.download(URL, buffer, chunk_size=1000)
    assert buffer.getvalue() == b"HEAD" + AUDIO


async def test_unseekable_object_with_bytes_written_is_not_retried(
    dl: AsyncSpeechAPI, media: respx.MockRouter
) -> None:
    """Bytes already given to an object that cannot rewind make a retry impossible."""
    route = media.get(URL).mock(
        side_effect=[
            httpx.Response(200, stream=Chunks(AUDIO[:3000], httpx.ReadError("reset"))),
            httpx.Response(200, content=AUDIO),
        ]
    )
    with pytest.raises(DownloadError, match="after 3,000 bytes") as info:
        await dl.download(URL, Recorder(), chunk_size=1000)
    assert isinstance(info.value.__cause__, httpx.ReadError)
    assert route.call_count == 1


async def test_retries_exhausted_raise_and_clean_up(
    dl: AsyncSpeechAPI, media: respx.MockRouter, tmp_path: Path
) -> None:
    """When every try failed, DownloadError is raised and the temporary is removed."""
    route = media.get(URL).mock(return_value=httpx.Response(502))
    with pytest.raises(DownloadError) as info:
        await dl.download(URL, tmp_path / "a.mp3")
    assert info.value.status_code == 502
    assert route.call_count == 4
    assert _names(tmp_path) == []


@pytest.mark.parametrize("status", [400, 403, 404, 410])
async def test_client_errors_are_not_retried(
    dl: AsyncSpeechAPI, media: respx.MockRouter, tmp_path: Path, status: int
) -> None:
    """An expired or missing URL (4xx) is raised at once."""
    route = media.get(URL).mock(return_value=httpx.Response(status))
    with pytest.raises(DownloadError, match=f"HTTP {status}"):
        await dl.download(URL, tmp_path / "a.mp3")
    assert route.call_count == 1
    assert _names(tmp_path) == []


async def test_signed_query_stays_out_of_messages(
    dl: AsyncSpeechAPI, media: respx.MockRouter
) -> None:
    """The URL's query (a CDN signature) is not repeated in the error message."""
    signed = URL + "?Signature=abcdef123456"
    media.get(signed).mock(return_value=httpx.Response(403))
    with pytest.raises(DownloadError) as info:
        await dl.download(signed, io.BytesIO())
    assert "abcdef123456" not in str(info.value)
    assert info.value.url == signed


async def test_closed_client_refuses_download(wire: Any, media: respx.MockRouter) -> None:
    """download() on a closed client is a RuntimeError."""
    api = AsyncSpeechAPI(wire.TOKEN)
    await api.aclose()
    with pytest.raises(RuntimeError, match="closed"):
        await api.download(URL, io.BytesIO())
    assert len(media.calls) == 0
