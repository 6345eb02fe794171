"""Items 4 and 5: what a download does with redirects."""

from __future__ import annotations

import io
from typing import Any

import anyio
import pytest

from pixverse_speech import DownloadError

from ._server import Reply, Request
from ._support import path_of

pytestmark = pytest.mark.anyio

AUDIO = b"ID3" + b"\x00" * 997


def redirecting(locations: dict[str, str]) -> Any:
    """Redirect each path in ``locations`` (302); answer any other with the audio."""

    async def handler(request: Request, reply: Reply) -> bool:
        path = path_of(request)
        if path in locations:
            await reply.respond(302, b"", {"Location": locations[path]})
        else:
            await reply.respond(200, AUDIO, {"Content-Type": "audio/mpeg"})
        return True

    return handler


async def test_redirected_get_has_no_body(serve: Any, client: Any) -> None:
    """The request a redirect leads to is a GET with no body: no chunked framing, no bytes."""
    server = serve(redirecting({"/media/a.mp3": "/media/b.mp3"}))
    sink = io.BytesIO()
    async with client(server) as api:
        assert await api.download(server.url("/media/a.mp3"), sink) == len(AUDIO)
        # The kept-alive connection is still in step: a second download works on it.
        assert await api.download(server.url("/media/a.mp3"), io.BytesIO()) == len(AUDIO)
    assert sink.getvalue() == AUDIO
    followed = [r for r in server.requests if path_of(r) == "/media/b.mp3"]
    assert len(followed) == 2
    for request in followed:
        assert request.method == "GET"
        assert not request.chunked
        assert "transfer-encoding" not in request.headers
        assert request.body == b""
        assert "authorization" not in request.headers


async def test_redirect_to_file_scheme_fails_at_once(serve: Any, client: Any) -> None:
    """A redirect to file:// is a DownloadError at once: never followed, never retried."""
    server = serve(redirecting({"/media/a.mp3": "file:///etc/passwd"}))
    async with client(server, max_retries=3) as api:
        with anyio.fail_after(5), pytest.raises(DownloadError) as caught:
            await api.download(server.url("/media/a.mp3"), io.BytesIO())
    assert "only http and https" in str(caught.value)
    assert len(server.requests) == 1


async def test_at_most_five_redirects_are_followed(serve: Any, client: Any) -> None:
    """A redirect chain longer than five ends with a DownloadError after six requests."""
    chain = {f"/media/{i}.mp3": f"/media/{i + 1}.mp3" for i in range(10)}
    server = serve(redirecting(chain))
    async with client(server, max_retries=3) as api:
        with anyio.fail_after(5), pytest.raises(DownloadError) as caught:
            await api.download(server.url("/media/0.mp3"), io.BytesIO())
    assert "more than 5 times" in str(caught.value)
    assert len(server.requests) == 6


async def test_five_redirects_are_followed(serve: Any, client: Any) -> None:
    """A chain of exactly five redirects ends in the audio."""
    chain = {f"/media/{i}.mp3": f"/media/{i + 1}.mp3" for i in range(5)}
    server = serve(redirecting(chain))
    sink = io.BytesIO()
    async with client(server) as api:
        await api.download(server.url("/media/0.mp3"), sink)
    assert sink.getvalue() == AUDIO
