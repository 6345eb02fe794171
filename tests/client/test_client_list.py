"""`list` (one page) and `iter_speech` (every page): parameters, decoding and paging rules."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import httpx
import pytest
import respx

from pixverse_speech import (
    AsyncSpeechAPI,
    AuthenticationError,
    ResponseDecodeError,
    Speech,
    SpeechPage,
)

pytestmark = pytest.mark.anyio

TOKEN = "user:12345-s3cr3tT0kenValue9876"
LIST_PATH = "pixverse/speech/"


def _item(n: int) -> dict[str, Any]:
    return {"audio_id": f"user:1-pixverse:me@example.com-speech:{n}", "audio_status": 1}


def _ids(speeches: list[Speech]) -> list[int]:
    return [int(s.audio_id.rsplit(":", 1)[1]) for s in speeches if s.audio_id]


Pages = Callable[[int, int], dict[str, Any]]


def _paged(pages: Pages) -> Callable[[httpx.Request], httpx.Response]:
    """A side effect answering GET speech/ from ``pages(offset, limit)``."""

    def answer(request: httpx.Request) -> httpx.Response:
        params = request.url.params
        return httpx.Response(
            200, json=pages(int(params.get("offset", "0")), int(params.get("limit", "50")))
        )

    return answer


def _offsets(route: respx.Route) -> list[int]:
    return [int(call.request.url.params["offset"]) for call in route.calls]


# -- list ------------------------------------------------------------------------------------------


async def test_list_decodes_a_page(api: AsyncSpeechAPI, router: respx.MockRouter) -> None:
    """A page decodes to SpeechPage with a tuple of Speech, next_offset and has_more."""
    router.get(LIST_PATH).mock(
        return_value=httpx.Response(
            200,
            json={"data": [_item(1), _item(2)], "next_offset": 2, "has_more": True, "extra": 1},
        )
    )
    page = await api.list()
    assert isinstance(page, SpeechPage)
    assert isinstance(page.data, tuple)
    assert _ids(list(page.data)) == [1, 2]
    assert page.next_offset == 2
    assert page.has_more is True


async def test_list_of_an_empty_object(api: AsyncSpeechAPI, router: respx.MockRouter) -> None:
    """A page without any field is an empty page with unknown paging."""
    router.get(LIST_PATH).mock(return_value=httpx.Response(200, json={}))
    page = await api.list()
    assert page == SpeechPage(data=(), next_offset=None, has_more=None)


async def test_list_sends_no_params_by_default(api: AsyncSpeechAPI, router: respx.MockRouter):
    """Without email, limit and offset the request has no query at all (the API's defaults)."""
    route = router.get(LIST_PATH).mock(return_value=httpx.Response(200, json={}))
    await api.list()
    url = route.calls.last.request.url
    assert url.raw_path == b"/v2/pixverse/speech/"
    assert url.query == b""


async def test_list_sends_its_params(api: AsyncSpeechAPI, router: respx.MockRouter) -> None:
    """email, limit and offset go into the query string; the `@` is encoded as a query value."""
    route = router.get(LIST_PATH).mock(return_value=httpx.Response(200, json={}))
    await api.list(email="me+tts@example.com", limit=10, offset=0)
    params = route.calls.last.request.url.params
    assert dict(params) == {"email": "me+tts@example.com", "limit": "10", "offset": "0"}


async def test_list_email_defaults_to_the_client(router: respx.MockRouter) -> None:
    """The client's email is sent when a call names none, and a call's own email wins."""
    route = router.get(LIST_PATH).mock(return_value=httpx.Response(200, json={}))
    async with AsyncSpeechAPI(TOKEN, email="default@example.com") as api:
        await api.list()
        assert route.calls.last.request.url.params["email"] == "default@example.com"
        await api.list(email="other@example.com")
        assert route.calls.last.request.url.params["email"] == "other@example.com"
        _ = [s async for s in api.iter_speech()]
        assert route.calls.last.request.url.params["email"] == "default@example.com"


@pytest.mark.parametrize(
    ("kwargs", "exc", "name"),
    [
        ({"limit": 0}, ValueError, "limit"),
        ({"limit": -5}, ValueError, "limit"),
        ({"limit": 2.0}, TypeError, "limit"),
        ({"limit": "10"}, TypeError, "limit"),
        ({"limit": True}, TypeError, "limit"),
        ({"offset": -1}, ValueError, "offset"),
        ({"offset": "0"}, TypeError, "offset"),
        ({"offset": 1.5}, TypeError, "offset"),
        ({"email": ""}, ValueError, "email"),
        ({"email": "   "}, ValueError, "email"),
        ({"email": 7}, TypeError, "email"),
    ],
)
async def test_list_bad_arguments(
    api: AsyncSpeechAPI,
    router: respx.MockRouter,
    kwargs: dict[str, object],
    exc: type[Exception],
    name: str,
) -> None:
    """A bad email, limit or offset raises, naming it, before any request."""
    route = router.get(LIST_PATH).mock(return_value=httpx.Response(200, json={}))
    with pytest.raises(exc, match=name):
        await api.list(**kwargs)  # type: ignore[arg-type]
    assert route.call_count == 0


async def test_list_item_of_wrong_type_is_none_and_kept(
    api: AsyncSpeechAPI, router: respx.MockRouter
) -> None:
    """A bad non-essential field inside `data` is None on that record, its value kept."""
    odd = {**_item(2), "duration": "long"}
    router.get(LIST_PATH).mock(return_value=httpx.Response(200, json={"data": [_item(1), odd]}))
    page = await api.list()
    assert _ids(list(page.data)) == [1, 2]
    assert page.data[1].duration is None
    assert page.data[1].invalid_fields == {"duration": "long"}
    assert page.skipped == 0


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"data": {"a": 1}}, "data"),
        ({"data": "x"}, "data"),
        ([], None),
        ("data", None),
    ],
)
async def test_list_body_of_wrong_shape(
    api: AsyncSpeechAPI, router: respx.MockRouter, body: Any, field: str | None
) -> None:
    """A body that is not an object, or whose data is not a list, is a ResponseDecodeError."""
    router.get(LIST_PATH).mock(return_value=httpx.Response(200, json=body))
    with pytest.raises(ResponseDecodeError) as info:
        await api.list()
    assert info.value.field == field


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"data": [], "next_offset": "50"}, "next_offset"),
        ({"data": [], "next_offset": 2.5}, "next_offset"),
        ({"data": [], "has_more": "false"}, "has_more"),
    ],
)
async def test_list_paging_field_of_wrong_type_is_none(
    api: AsyncSpeechAPI, router: respx.MockRouter, body: dict[str, Any], field: str
) -> None:
    """A next_offset or has_more of the wrong type is None on the page, its value kept."""
    router.get(LIST_PATH).mock(return_value=httpx.Response(200, json=body))
    page = await api.list()
    assert getattr(page, field) is None
    assert page.invalid_fields == {field: body[field]}


# -- iter_speech -----------------------------------------------------------------------------------


async def test_iter_follows_next_offset(api: AsyncSpeechAPI, router: respx.MockRouter) -> None:
    """The next page starts at the API's next_offset when it is short of offset + items."""
    pages = {
        0: {"data": [_item(1), _item(2), _item(3)], "next_offset": 2, "has_more": True},
        2: {"data": [_item(3), _item(4)], "next_offset": 4, "has_more": False},
    }
    route = router.get(LIST_PATH).mock(side_effect=_paged(lambda o, _: pages[o]))
    result = [s async for s in api.iter_speech(page_size=3)]
    assert _ids(result) == [1, 2, 3, 4]
    assert _offsets(route) == [0, 2]
    assert all(call.request.url.params["limit"] == "3" for call in route.calls)


async def test_iter_never_skips_past_the_items_read(
    api: AsyncSpeechAPI, router: respx.MockRouter
) -> None:
    """A next_offset beyond offset + items (a server capping limit) is cut to offset + items."""
    pages = {
        0: {"data": [_item(1), _item(2)], "next_offset": 5, "has_more": True},
        2: {"data": [_item(3), _item(4)], "next_offset": 7, "has_more": False},
    }
    route = router.get(LIST_PATH).mock(side_effect=_paged(lambda o, _: pages[o]))
    result = [s async for s in api.iter_speech(page_size=5)]
    assert _ids(result) == [1, 2, 3, 4]
    assert _offsets(route) == [0, 2]


async def test_iter_falls_back_to_offset_plus_items(
    api: AsyncSpeechAPI, router: respx.MockRouter
) -> None:
    """Without next_offset the next page starts at offset + the items received."""
    route = router.get(LIST_PATH).mock(
        side_effect=_paged(
            lambda o, n: {"data": [_item(i) for i in range(o, min(o + n, 7))], "has_more": o < 4}
        )
    )
    result = [s async for s in api.iter_speech(page_size=3, offset=1)]
    assert _ids(result) == [1, 2, 3, 4, 5, 6]
    assert _offsets(route) == [1, 4]


async def test_iter_stops_when_has_more_is_false(api: AsyncSpeechAPI, router: respx.MockRouter):
    """`has_more: false` ends paging even after a full page."""
    route = router.get(LIST_PATH).mock(
        return_value=httpx.Response(
            200, json={"data": [_item(1), _item(2)], "next_offset": 2, "has_more": False}
        )
    )
    assert _ids([s async for s in api.iter_speech(page_size=2)]) == [1, 2]
    assert route.call_count == 1


async def test_iter_stops_at_an_empty_page(api: AsyncSpeechAPI, router: respx.MockRouter) -> None:
    """An empty page ends paging even when it claims has_more."""
    pages = {
        0: {"data": [_item(1), _item(2)], "next_offset": 2, "has_more": True},
        2: {"data": [], "next_offset": 4, "has_more": True},
    }
    route = router.get(LIST_PATH).mock(side_effect=_paged(lambda o, _: pages[o]))
    assert _ids([s async for s in api.iter_speech(page_size=2)]) == [1, 2]
    assert route.call_count == 2


async def test_iter_stops_at_a_short_page_without_has_more(
    api: AsyncSpeechAPI, router: respx.MockRouter
) -> None:
    """Without has_more, a full page leads on and a short page is the last."""
    route = router.get(LIST_PATH).mock(
        side_effect=_paged(lambda o, n: {"data": [_item(i) for i in range(o, min(o + n, 5))]})
    )
    assert _ids([s async for s in api.iter_speech(page_size=2)]) == [0, 1, 2, 3, 4]
    assert _offsets(route) == [0, 2, 4]


async def test_iter_keeps_going_on_short_page_with_has_more(
    api: AsyncSpeechAPI, router: respx.MockRouter
) -> None:
    """A short page that says has_more: true is not the last."""
    pages = {
        0: {"data": [_item(1)], "has_more": True},
        1: {"data": [_item(2)], "has_more": False},
    }
    route = router.get(LIST_PATH).mock(side_effect=_paged(lambda o, _: pages[o]))
    assert _ids([s async for s in api.iter_speech(page_size=5)]) == [1, 2]
    assert _offsets(route) == [0, 1]


@pytest.mark.parametrize("stuck", ["same", "zero", "backwards"])
async def test_iter_non_advancing_next_offset_does_not_loop(
    api: AsyncSpeechAPI, router: respx.MockRouter, caplog: pytest.LogCaptureFixture, stuck: str
) -> None:
    """A next_offset at or before the offset is replaced by offset + items, with a warning."""
    caplog.set_level(logging.WARNING, logger="pixverse_speech")

    calls = 0

    def page(offset: int, limit: int) -> dict[str, Any]:
        nonlocal calls
        calls += 1
        assert calls <= 10, "paging loops"
        following = {"same": offset, "zero": 0, "backwards": max(0, offset - 1)}[stuck]
        items = [_item(i) for i in range(offset, min(offset + limit, 6))]
        return {"data": items, "next_offset": following, "has_more": offset + limit < 6}

    route = router.get(LIST_PATH).mock(side_effect=_paged(page))
    result = [s async for s in api.iter_speech(page_size=2)]
    assert _ids(result) == [0, 1, 2, 3, 4, 5]
    assert _offsets(route) == [0, 2, 4]
    assert any("does not advance" in r.getMessage() for r in caplog.records)


async def test_iter_does_not_repeat_ids_when_offsets_shift(
    api: AsyncSpeechAPI, router: respx.MockRouter
) -> None:
    """Jobs created while paging shift older ones down a page: none is yielded twice."""
    jobs = [_item(n) for n in range(100, 90, -1)]  # newest first: 100..91

    def page(offset: int, limit: int) -> dict[str, Any]:
        nonlocal jobs
        body = {"data": jobs[offset : offset + limit], "has_more": offset + limit < len(jobs)}
        jobs = [_item(200 + offset), _item(300 + offset), *jobs]  # two new jobs after each page
        return body

    router.get(LIST_PATH).mock(side_effect=_paged(page))
    result = _ids([s async for s in api.iter_speech(page_size=4)])
    assert len(result) == len(set(result))
    assert set(range(91, 101)) <= set(result)


async def test_iter_skips_records_without_id_and_pages_on(
    api: AsyncSpeechAPI, router: respx.MockRouter
) -> None:
    """Records without an audio_id are not jobs: skipped, yet paging counts them and goes on."""

    def pages(offset: int, limit: int) -> dict[str, Any]:
        if offset == 0:
            return {"data": [_item(3), {"audio_status": 5}, _item(2)]}
        return {"data": [_item(1)] if offset == 3 else []}

    router.get(LIST_PATH).mock(side_effect=_paged(pages))
    assert _ids([s async for s in api.iter_speech(page_size=3)]) == [3, 2, 1]


@pytest.mark.parametrize(
    ("kwargs", "exc", "name"),
    [
        ({"page_size": 0}, ValueError, "page_size"),
        ({"page_size": "10"}, TypeError, "page_size"),
        ({"page_size": None}, TypeError, "page_size"),
        ({"offset": -1}, ValueError, "offset"),
        ({"offset": None}, TypeError, "offset"),
        ({"email": ""}, ValueError, "email"),
    ],
)
async def test_iter_bad_arguments_raise_at_call(
    api: AsyncSpeechAPI,
    router: respx.MockRouter,
    kwargs: dict[str, object],
    exc: type[Exception],
    name: str,
) -> None:
    """Bad iter_speech arguments raise when it is called, not at the first iteration."""
    route = router.get(LIST_PATH).mock(return_value=httpx.Response(200, json={}))
    with pytest.raises(exc, match=name):
        api.iter_speech(**kwargs)  # type: ignore[arg-type]
    assert route.call_count == 0


async def test_iter_propagates_errors(api0: AsyncSpeechAPI, router: respx.MockRouter) -> None:
    """An error on a later page is raised from the iteration after the earlier items."""
    router.get(LIST_PATH).mock(
        side_effect=[
            httpx.Response(200, json={"data": [_item(1)], "has_more": True}),
            httpx.Response(401, json={"error": "Unauthorized", "code": 401}),
        ]
    )
    seen: list[Speech] = []

    async def consume() -> None:
        async for speech in api0.iter_speech(page_size=1):
            seen.append(speech)

    with pytest.raises(AuthenticationError, match="Unauthorized"):
        await consume()
    assert _ids(seen) == [1]
