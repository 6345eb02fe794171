"""api.with_options(): per-call timeout, retries and headers on a view sharing the pool."""

from __future__ import annotations

from typing import Any

import anyio
import pytest
import respx

from pixverse_speech import APITimeoutError, AsyncSpeechAPI, ServerError, Speech
from pixverse_speech.testing import FakeClock, FakeSpeechAPI, Fault

pytestmark = pytest.mark.anyio

PATH = "pixverse/speech/x"


async def test_view_shares_the_pool_and_token(wire: Any) -> None:
    """A view sends through the same httpx client with the same token."""
    async with AsyncSpeechAPI(wire.TOKEN) as api:
        view = api.with_options(timeout=5)
        assert view._sender.client is api._sender.client
        assert view is not api
        assert view.base_url == api.base_url


async def test_view_timeout_applies_to_its_requests_only(
    api: AsyncSpeechAPI, router: respx.MockRouter, wire: Any
) -> None:
    """timeout= sets the view's per-request timeout; the parent keeps its own."""
    route = router.get(PATH).mock(return_value=wire.ok(wire.record(audio_id="x")))
    await api.with_options(timeout=2.5).get("x")
    await api.get("x")
    first, second = (call.request.extensions["timeout"] for call in route.calls)
    assert first["read"] == 2.5
    assert second["read"] == 30.0


async def test_view_max_retries(api: AsyncSpeechAPI, router: respx.MockRouter, wire: Any) -> None:
    """max_retries=0 on the view: one attempt, then the error; the parent still retries."""
    route = router.get(PATH).mock(side_effect=[wire.error(503), wire.ok(wire.record())])
    with pytest.raises(ServerError):
        await api.with_options(max_retries=0).get("x")
    assert route.call_count == 1
    route.side_effect = [wire.error(503), wire.ok(wire.record(audio_id="x"))]
    assert (await api.get("x")).audio_id == "x"


async def test_view_headers_add_to_default_headers(router: respx.MockRouter, wire: Any) -> None:
    """headers= adds to default_headers and replaces a name given again."""
    route = router.get(PATH).mock(return_value=wire.ok(wire.record(audio_id="x")))
    async with AsyncSpeechAPI(wire.TOKEN, default_headers={"X-A": "1", "X-B": "1"}) as api:
        await api.with_options(headers={"X-B": "2", "X-C": "3"}).get("x")
        await api.get("x")
    view_request, parent_request = (call.request for call in route.calls)
    assert (view_request.headers["X-A"], view_request.headers["X-B"]) == ("1", "2")
    assert view_request.headers["X-C"] == "3"
    assert parent_request.headers["X-B"] == "1"
    assert "X-C" not in parent_request.headers


async def test_closing_the_parent_closes_views(wire: Any) -> None:
    """After the parent's aclose() a view refuses calls; a view's aclose() leaves the parent."""
    api = AsyncSpeechAPI(wire.TOKEN)
    view = api.with_options(max_retries=1)
    await view.aclose()
    assert view.is_closed
    assert not api.is_closed
    other = api.with_options(max_retries=1)
    await api.aclose()
    assert other.is_closed
    with pytest.raises(RuntimeError, match="closed"):
        await other.get("x")


async def test_view_of_a_view_keeps_both_settings(
    api: AsyncSpeechAPI, router: respx.MockRouter, wire: Any
) -> None:
    """Options stack: a view of a view keeps what it does not override."""
    route = router.get(PATH).mock(side_effect=[wire.error(503), wire.ok(wire.record())])
    view = api.with_options(timeout=4).with_options(max_retries=0)
    with pytest.raises(ServerError):
        await view.get("x")
    assert route.calls.last.request.extensions["timeout"]["read"] == 4


@pytest.mark.parametrize(
    ("options", "name", "error"),
    [
        ({"timeout": 0}, "timeout", ValueError),
        ({"timeout": "5"}, "timeout", TypeError),
        ({"max_retries": -1}, "max_retries", ValueError),
        ({"headers": {"Authorization": "x"}}, "headers", ValueError),
    ],
)
def test_bad_options_name_the_parameter(
    wire: Any, options: dict[str, Any], name: str, error: type[Exception]
) -> None:
    """A bad option is refused at with_options(), naming it."""
    api = AsyncSpeechAPI(wire.TOKEN)
    with pytest.raises(error, match=name):
        api.with_options(**options)


async def test_views_share_the_limit_of_requests_in_flight() -> None:
    """max_connections bounds the parent and its views together."""
    fake = FakeSpeechAPI(max_jobs=8)
    ids = [fake.add_job() for _ in range(6)]
    fake.inject(Fault.delay(0.05), method="GET")
    async with fake.client(max_connections=2) as api:
        view = api.with_options(timeout=10)
        async with anyio.create_task_group() as tg:
            for index, audio_id in enumerate(ids):
                tg.start_soon((api if index % 2 else view).get, audio_id)
    assert fake.max_in_flight == 2


async def test_view_request_timeout_is_enforced() -> None:
    """A short timeout on a view times out a slow request the parent would wait for."""
    fake = FakeSpeechAPI()
    audio_id = fake.add_job()
    fake.inject(Fault.delay(0.5), method="GET", times=1)
    async with fake.client(max_retries=0) as api:
        with pytest.raises(APITimeoutError):
            await api.with_options(timeout=0.05).get(audio_id)
        assert (await api.get(audio_id)).audio_id == audio_id


async def test_closing_a_view_leaves_the_parents_waits_working() -> None:
    """A view's aclose() closes only the view: the parent still waits (its engine stays open)."""
    fake = FakeSpeechAPI(clock=FakeClock())
    audio_id = fake.add_job(generating_for=30)
    async with fake.client() as api:
        await api.with_options(max_retries=0).aclose()
        with fake.virtual_time():
            speech = await api.wait_until_final(audio_id)
            results = await api.wait_many([audio_id])
    assert speech.is_completed
    assert isinstance(results[0], Speech)
