"""GET speech/ over real sockets: query parameters, page decoding and paging with iter_speech."""

from __future__ import annotations

from typing import Any

import pytest

from pixverse_speech import Speech, SpeechPage

from .server import LoopbackServer, Recorded, Reply, reply
from .support import SPEECH_PATH, client, record

pytestmark = pytest.mark.anyio

EMAIL = "someone+tts@example.com"


def job_id(n: int) -> str:
    return f"user:1234-pixverse:{EMAIL}-speech:{n}"


def paged(jobs: list[dict[str, Any]], *, shift_after_first: int = 0) -> Any:
    """A GET speech/ handler serving ``jobs`` by ``offset``/``limit``, like the API does.

    ``shift_after_first`` new jobs "arrive" after the first page was served: every later offset
    then points that many places earlier in the original list.
    """
    served = 0

    def handle(request: Recorded) -> Reply:
        nonlocal served
        offset = int(request.query.get("offset", ["0"])[0])
        limit = int(request.query.get("limit", ["50"])[0])
        start = max(0, offset - (shift_after_first if served else 0))
        served += 1
        page = jobs[start : start + limit]
        more = start + limit < len(jobs)
        return reply({"data": page, "next_offset": offset + limit, "has_more": more})

    return handle


async def test_list_sends_email_limit_offset_and_decodes_page(server: LoopbackServer) -> None:
    """list() sends email, limit and offset as query parameters and decodes the page."""
    jobs = [record(job_id(n)) for n in (5, 6)]
    server.script(SPEECH_PATH, reply({"data": jobs, "next_offset": 6, "has_more": True}))
    async with client(server) as api:
        page = await api.list(email=EMAIL, limit=2, offset=4)

    assert isinstance(page, SpeechPage)
    assert [s.audio_id for s in page.data] == [job_id(5), job_id(6)]
    assert all(isinstance(s, Speech) for s in page.data)
    assert page.next_offset == 6
    assert page.has_more is True
    [request] = server.requests
    assert request.method == "GET"
    assert request.path == SPEECH_PATH
    assert request.query == {"email": [EMAIL], "limit": ["2"], "offset": ["4"]}


async def test_list_uses_client_default_email_and_omits_unset_params(
    server: LoopbackServer,
) -> None:
    """list() without arguments sends only the client's default email."""
    server.script(SPEECH_PATH, reply({"data": [], "next_offset": 0, "has_more": False}))
    async with client(server, email=EMAIL) as api:
        page = await api.list()
    assert page.data == ()
    assert page.has_more is False
    [request] = server.requests
    assert request.query == {"email": [EMAIL]}


async def test_list_without_any_email_sends_no_query(server: LoopbackServer) -> None:
    """list() on a client without an email sends no query parameters at all."""
    server.script(SPEECH_PATH, reply({"data": [record(job_id(1))]}))
    async with client(server) as api:
        page = await api.list()
    assert len(page.data) == 1
    assert page.next_offset is None
    assert page.has_more is None
    assert server.requests[0].query == {}


async def test_iter_speech_walks_three_pages(server: LoopbackServer) -> None:
    """iter_speech follows next_offset across three served pages and stops at has_more false."""
    jobs = [record(job_id(n)) for n in range(7)]
    server.script(SPEECH_PATH, paged(jobs))
    async with client(server) as api:
        seen = [s.audio_id async for s in api.iter_speech(email=EMAIL, page_size=3)]

    assert seen == [job_id(n) for n in range(7)]
    assert len(server.requests) == 3
    assert [r.query["offset"] for r in server.requests] == [["0"], ["3"], ["6"]]
    assert all(r.query["limit"] == ["3"] for r in server.requests)
    assert all(r.query["email"] == [EMAIL] for r in server.requests)
    assert len({r.connection for r in server.requests}) == 1


async def test_iter_speech_skips_jobs_shifted_by_new_arrivals(server: LoopbackServer) -> None:
    """A job pushed onto the next page by new arrivals is not yielded twice."""
    jobs = [record(job_id(n)) for n in range(7)]
    server.script(SPEECH_PATH, paged(jobs, shift_after_first=1))
    async with client(server) as api:
        seen = [s.audio_id async for s in api.iter_speech(page_size=3)]
    assert len(seen) == len(set(seen))
    assert set(seen) == {job_id(n) for n in range(7)}
    assert len(server.requests) <= 4


async def test_iter_speech_stops_on_a_next_offset_that_does_not_advance(
    server: LoopbackServer,
) -> None:
    """A next_offset stuck at 0 with has_more true does not make iter_speech loop forever."""
    jobs = [record(job_id(n)) for n in range(4)]

    def stuck(request: Recorded) -> Reply:
        offset = int(request.query.get("offset", ["0"])[0])
        page = jobs[offset : offset + 2]
        return reply({"data": page, "next_offset": 0, "has_more": bool(page)})

    server.script(SPEECH_PATH, stuck)
    async with client(server) as api:
        seen = []
        async for speech in api.iter_speech(page_size=2):
            seen.append(speech.audio_id)
            assert len(seen) <= 10, "iter_speech does not stop"
    assert seen == [job_id(n) for n in range(4)]
    assert len(server.requests) <= 4
