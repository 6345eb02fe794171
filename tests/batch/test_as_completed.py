"""as_completed: results as jobs become final, no work between items, break and cancel."""

from __future__ import annotations

import time
from typing import Any

import anyio
import anyio.lowlevel
import pytest

from pixverse_speech import (
    AsyncSpeechAPI,
    NotFoundError,
    Speech,
    SpeechError,
    SpeechFailedError,
    WaitTimeoutError,
)
from pixverse_speech.testing import FakeClock, FakeSpeechAPI, Fault

from ._support import LIST_PATH, client
from .test_sweeps import _task_count

pytestmark = pytest.mark.anyio


async def _collect(
    api: AsyncSpeechAPI, ids: list[str], **kwargs: Any
) -> list[tuple[str, Speech | SpeechError]]:
    out = []
    async for item in api.as_completed(ids, **kwargs):
        out.append(item)
        assert len(out) <= len(ids)  # bounded
    return out


async def test_yields_in_order_of_completion(fake: FakeSpeechAPI, api: AsyncSpeechAPI) -> None:
    """Jobs finishing at different times come out soonest first, each id once."""
    durations = [21.0, 3.0, 15.0, 9.0]
    ids = [fake.add_job(queued_for=1.0, generating_for=d - 1.0) for d in durations]
    with fake.virtual_time():
        items = await _collect(api, [*ids, ids[0]])
    assert [audio_id for audio_id, _ in items] == [ids[1], ids[3], ids[2], ids[0]]
    for audio_id, result in items:
        assert isinstance(result, Speech)
        assert result.audio_id == audio_id
        assert result.is_completed


async def test_each_result_when_it_is_final(fake: FakeSpeechAPI, api: AsyncSpeechAPI) -> None:
    """Each item arrives within one longest pause (4 s) of its job finishing."""
    finish = {fake.add_job(queued_for=1.0, generating_for=d): 1.0 + d for d in (2.0, 12.0, 30.0)}
    with fake.virtual_time():
        async for audio_id, _ in api.as_completed(finish):
            assert 0.0 <= fake.clock.now() - finish[audio_id] <= 4.0


async def test_same_results_as_wait_many(fake: FakeSpeechAPI, api: AsyncSpeechAPI) -> None:
    """Failed jobs, missing ids and raise_on_failure give the slots wait_many would give."""
    done = fake.add_job(generating_for=2.0)
    failed = fake.add_job(generating_for=4.0, outcome="failed", fail_reason="nope")
    missing = "user:1-pixverse:fake@example.com-speech:999"
    with fake.virtual_time():
        items = dict(await _collect(api, [done, failed, missing], raise_on_failure=True))
    assert isinstance(items[done], Speech)
    assert isinstance(items[missing], NotFoundError)
    result = items[failed]
    assert isinstance(result, SpeechFailedError)
    assert result.speech.fail_reason == "nope"


async def test_break_leaves_nothing_running(fake: FakeSpeechAPI, api: AsyncSpeechAPI) -> None:
    """After `break` no task is left and no request is sent, however long one waits."""
    ids = [fake.add_job(queued_for=0.0, generating_for=float(n)) for n in range(20)]
    tasks = _task_count()
    got = 0
    with fake.virtual_time():
        async for _ in api.as_completed(ids):
            got += 1
            if got == 3:
                break
    await anyio.lowlevel.checkpoint()
    assert _task_count() == tasks
    sent = len(fake.requests)
    fake.clock.advance(100.0)
    await anyio.sleep(0.05)
    assert len(fake.requests) == sent


async def test_no_polling_between_items(fake: FakeSpeechAPI, api: AsyncSpeechAPI) -> None:
    """While the loop body runs, nothing polls; the next item is fetched when asked for."""
    ids = [fake.add_job(queued_for=0.0, generating_for=d) for d in (1.0, 5.0, 9.0)]
    with fake.virtual_time():
        iterator = api.as_completed(ids)
        first = await iterator.__anext__()
        sent = len(fake.requests)
        fake.clock.advance(100.0)  # a slow consumer: every job is done meanwhile
        await anyio.lowlevel.checkpoint()
        assert len(fake.requests) == sent
        rest = [item async for item in iterator]
    assert first[0] == ids[0]
    assert sorted(audio_id for audio_id, _ in rest) == ids[1:]
    assert len(fake.requests) == sent + 1  # one page saw both


async def test_cancel_while_waiting_for_an_item(fake: FakeSpeechAPI, api: AsyncSpeechAPI) -> None:
    """Cancelling the loop mid-request ends it promptly with no task or request left."""
    ids = [fake.add_job(generating_for=100.0) for _ in range(5)]
    fake.inject(Fault.delay(30.0), method="GET", path=LIST_PATH)
    tasks = _task_count()
    started = time.perf_counter()
    with anyio.move_on_after(0.1) as scope:
        async for _ in api.as_completed(ids, timeout=None):
            pytest.fail("no job finishes")
    assert scope.cancelled_caught
    assert time.perf_counter() - started < 2.0
    await anyio.lowlevel.checkpoint()
    assert _task_count() == tasks
    assert fake.in_flight == 0


async def test_aclose_ends_the_iteration(fake: FakeSpeechAPI, api: AsyncSpeechAPI) -> None:
    """aclose() after some items: the iterator is exhausted and sends nothing more."""
    ids = [fake.add_job(generating_for=float(n)) for n in range(1, 4)]
    with fake.virtual_time():
        iterator = api.as_completed(ids)
        await iterator.__anext__()
        await iterator.aclose()  # type: ignore[attr-defined]
        sent = len(fake.requests)
        assert [item async for item in iterator] == []
    assert len(fake.requests) == sent


async def test_deadline_from_the_first_item(fake: FakeSpeechAPI, api: AsyncSpeechAPI) -> None:
    """`timeout` counts from the first item asked for; unfinished jobs come out as timeouts."""
    done = fake.add_job(generating_for=2.0)
    stuck = fake.add_job(generating_for=1e6)
    with fake.virtual_time():
        iterator = api.as_completed([done, stuck], timeout=20.0)
        fake.clock.advance(50.0)  # before the first item: not counted
        items = [item async for item in iterator]
    assert items[0][0] == done
    assert items[1][0] == stuck
    assert isinstance(items[1][1], WaitTimeoutError)
    assert fake.clock.now() == pytest.approx(70.0, abs=0.5)


async def test_concurrency_bound(api: AsyncSpeechAPI) -> None:
    """as_completed keeps list pages and GETs within `concurrency` too."""
    fake = FakeSpeechAPI(clock=FakeClock())
    ids = [fake.add_job(generating_for=2.0) for _ in range(10)]
    for _ in range(200):
        fake.add_job(queued_for=0.0, generating_for=0.0)  # ours are deep: GETs
    fake.inject(Fault.delay(0.002))
    async with client(fake) as other:
        with fake.virtual_time():
            items = await _collect(other, ids, concurrency=2)
    assert len(items) == 10
    assert fake.max_in_flight == 2


@pytest.mark.parametrize(
    ("ids", "kwargs", "exc"),
    [
        ("user:1-pixverse:fake@example.com-speech:1", {}, TypeError),
        (["ok", " "], {}, ValueError),
        ([None], {}, TypeError),
        (["ok"], {"concurrency": 0}, ValueError),
        (["ok"], {"timeout": -1}, ValueError),
        (["ok"], {"on_update": "print"}, TypeError),
    ],
)
async def test_arguments_checked_at_the_call(
    fake: FakeSpeechAPI, api: AsyncSpeechAPI, ids: Any, kwargs: dict[str, Any], exc: type
) -> None:
    """Bad arguments raise when as_completed is called, before any iteration or request."""
    with pytest.raises(exc):
        api.as_completed(ids, **kwargs)
    assert fake.requests == []


async def test_closed_client_refuses(fake: FakeSpeechAPI) -> None:
    """as_completed on a closed client raises RuntimeError at the call."""
    api = client(fake)
    await api.aclose()
    with pytest.raises(RuntimeError, match="closed"):
        api.as_completed(["x"])


async def test_empty(api: AsyncSpeechAPI) -> None:
    """No ids: nothing yielded."""
    assert await _collect(api, []) == []
