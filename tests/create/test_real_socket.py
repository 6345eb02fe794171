"""create and download over real sockets, against the stdlib server in ``_server.py``."""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from pixverse_speech import (
    APIConnectionError,
    AsyncSpeechAPI,
    ServerError,
    Speech,
)
from pixverse_speech._converter import structure

from ._forms import form_fields
from ._server import StdlibServer, drop, json_reply, raw_reply, truncated

pytestmark = pytest.mark.anyio

CREATE = "/v2/pixverse/speech/create"
TEXT = "Hello over a real socket."
VOICE = "minimax_english_radiant_girl"
AUDIO = bytes(range(256)) * 64  # 16 KiB


def _names(directory: Path) -> list[str]:
    """The names of the files in ``directory``, sorted."""
    return sorted(p.name for p in directory.iterdir())


@pytest.fixture
async def api(server: StdlibServer, wire: Any) -> AsyncIterator[AsyncSpeechAPI]:
    """A client whose API root is the local server, with a short request timeout."""
    async with AsyncSpeechAPI(wire.TOKEN, base_url=server.url + "/v2/", timeout=5.0) as client:
        yield client


async def test_create_over_a_socket(api: AsyncSpeechAPI, server: StdlibServer, wire: Any) -> None:
    """The server receives one multipart POST with the token and the fields."""
    server.on("POST", CREATE, json_reply({"audio_id": "job-1", "audio_status": 5}))
    speech = await api.create(TEXT, VOICE, speed=1.5, max_jobs=2)
    assert speech.audio_id == "job-1"
    [request] = server.received("POST", CREATE)
    assert request.headers["Authorization"] == f"Bearer {wire.TOKEN}"
    assert form_fields(request.headers["Content-Type"], request.body) == {
        "text": TEXT,
        "voice_id": VOICE,
        "speed": "1.5",
        "maxJobs": "2",
    }


async def test_create_dropped_after_sending_is_not_retried(
    api: AsyncSpeechAPI, server: StdlibServer, clock: Any
) -> None:
    """A connection dropped after the whole request arrived is not retried: the job may exist."""
    server.on("POST", CREATE, drop, json_reply({"audio_id": "job-2"}))
    with pytest.raises(APIConnectionError) as info:
        await api.create(TEXT, VOICE)
    assert isinstance(info.value.__cause__, httpx.RemoteProtocolError)
    assert info.value.job_may_exist is True
    assert "may exist" in str(info.value)
    received = server.received("POST", CREATE)
    assert len(received) == 1
    assert TEXT.encode() in received[0].body
    assert clock.sleeps == []


async def test_create_answered_503_is_not_retried(
    api: AsyncSpeechAPI, server: StdlibServer
) -> None:
    """A 5xx over a real socket is not retried either."""
    server.on("POST", CREATE, json_reply({"error": "down", "code": 503}, 503))
    with pytest.raises(ServerError) as info:
        await api.create(TEXT, VOICE)
    assert info.value.job_may_exist is True
    assert len(server.received("POST", CREATE)) == 1


async def test_create_to_a_closed_port_is_retried_then_says_no_job(wire: Any, clock: Any) -> None:
    """A refused connection is retried (the API never saw it), and the error says no job."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    async with AsyncSpeechAPI(
        wire.TOKEN, base_url=f"http://127.0.0.1:{port}/v2/", max_retries=2
    ) as api:
        with pytest.raises(APIConnectionError) as info:
            await api.create(TEXT, VOICE)
    assert isinstance(info.value.__cause__, httpx.ConnectError)
    assert info.value.job_may_exist is False
    assert len(clock.sleeps) == 2  # two retries after the first refusal


async def test_download_over_a_socket_without_the_token(
    api: AsyncSpeechAPI, server: StdlibServer, wire: Any, tmp_path: Path
) -> None:
    """The media request reaches the server without Authorization; the file is complete."""
    server.on("GET", "/media/a.mp3", raw_reply(AUDIO))
    speech = structure(
        wire.record(1, url=server.url + "/media/a.mp3", file_size=len(AUDIO)), Speech
    )
    target = tmp_path / "a.mp3"
    assert await api.download(speech, target) == len(AUDIO)
    assert target.read_bytes() == AUDIO
    [request] = server.received("GET", "/media/a.mp3")
    assert "Authorization" not in request.headers
    assert all(wire.TOKEN not in value for value in request.headers.values())
    assert _names(tmp_path) == ["a.mp3"]


async def test_truncated_download_is_fetched_again(
    api: AsyncSpeechAPI, server: StdlibServer, tmp_path: Path, clock: Any
) -> None:
    """A body cut short by the server is a transient failure: fetched again, written whole."""
    server.on("GET", "/media/b.mp3", truncated(AUDIO), raw_reply(AUDIO))
    target = tmp_path / "b.mp3"
    assert await api.download(server.url + "/media/b.mp3", target, chunk_size=1024) == len(AUDIO)
    assert target.read_bytes() == AUDIO
    assert len(server.received("GET", "/media/b.mp3")) == 2
    assert len(clock.sleeps) == 1
    assert _names(tmp_path) == ["b.mp3"]
