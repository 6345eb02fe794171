"""`wait_until_final` and `wait_many`: polling schedule, deadlines, failures and cancellation."""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterator
from typing import Any

import anyio
import httpx
import pytest
import respx
import sniffio

from pixverse_speech import (
    AccountError,
    AsyncSpeechAPI,
    AudioStatus,
    AuthenticationError,
    BadRequestError,
    NotFoundError,
    ServerError,
    Speech,
    SpeechError,
    SpeechFailedError,
    WaitTimeoutError,
)

pytestmark = pytest.mark.anyio

#: Runs a test on trio with a virtual clock (autojump): the library's real timing, in no time.
virtual_time = pytest.mark.parametrize("anyio_backend", ["trio-virtual"], indirect=True)

ID = "user:1-pixverse:me@example.com-speech:42"
PATH = f"pixverse/speech/{ID}"


def _speech(status: int, audio_id: str = ID, **fields: Any) -> httpx.Response:
    names = {1: "COMPLETED", 5: "QUEUED", 8: "FAILED", 10: "GENERATING"}
    body: dict[str, Any] = {"audio_id": audio_id, "audio_status": status}
    if status in names:
        body["audio_status_name"] = names[status]
        body["audio_status_final"] = status in (1, 8)
    if status == 8:
        body |= {"fail_code": "500043", "fail_reason": "upstream TTS error"}
    body.update(fields)
    return httpx.Response(200, json=body)


def _statuses(*statuses: int) -> Iterator[httpx.Response]:
    return iter([_speech(s) for s in statuses])


def _forever(status: int, audio_id: str = ID) -> Callable[[httpx.Request], httpx.Response]:
    return lambda request: _speech(status, audio_id)


def _task_count() -> int:
    """Tasks alive in the current event loop."""
    if sniffio.current_async_library() == "asyncio":
        import asyncio

        return len(asyncio.all_tasks())
    import trio

    def count(task: trio.lowlevel.Task) -> int:
        return 1 + sum(count(child) for n in task.child_nurseries for child in n.child_tasks)

    return count(trio.lowlevel.current_root_task())


# -- the poll schedule -----------------------------------------------------------------------------


async def test_first_poll_is_immediate(api: AsyncSpeechAPI, router: respx.MockRouter, clock):
    """A job already final is returned after one poll and no pause."""
    route = router.get(PATH).mock(return_value=_speech(1))
    speech = await api.wait_until_final(ID)
    assert speech.is_completed
    assert route.call_count == 1
    assert clock.sleeps == []


async def test_pauses_grow_to_max_within_jitter(
    api: AsyncSpeechAPI, router: respx.MockRouter, clock
) -> None:
    """Pauses grow x1.5 from poll_interval to max_poll_interval, each jittered by at most 10%."""
    route = router.get(PATH).mock(side_effect=_statuses(*[5] * 4, *[10] * 4, 1))
    speech = await api.wait_until_final(ID, poll_interval=1.0, max_poll_interval=4.0, timeout=None)
    assert speech.audio_status is AudioStatus.COMPLETED
    assert route.call_count == 9
    bases = [1.0, 1.5, 2.25, 3.375, 4.0, 4.0, 4.0, 4.0]
    assert len(clock.sleeps) == len(bases)
    for pause, base in zip(clock.sleeps, bases, strict=True):
        assert 0.9 * base <= pause <= base


async def test_pauses_are_jittered(api: AsyncSpeechAPI, router: respx.MockRouter, clock) -> None:
    """Two waits do not pause in lockstep: the pauses at the maximum differ."""
    router.get(PATH).mock(side_effect=_statuses(*[5] * 30, 1))
    await api.wait_until_final(ID, poll_interval=2.0, max_poll_interval=2.0)
    assert len(set(clock.sleeps)) > 20
    assert all(1.8 <= pause <= 2.0 for pause in clock.sleeps)


async def test_no_deadline_with_timeout_none(
    api: AsyncSpeechAPI, router: respx.MockRouter, clock
) -> None:
    """timeout=None waits as long as it takes, still pausing at most max_poll_interval."""
    router.get(PATH).mock(side_effect=_statuses(*[10] * 200, 1))
    speech = await api.wait_until_final(ID, timeout=None, max_poll_interval=10.0)
    assert speech.is_completed
    assert clock.elapsed > 1_000  # far beyond the default 600 s deadline
    assert max(clock.sleeps) <= 10.0


async def test_infinite_timeout_means_no_deadline(
    api: AsyncSpeechAPI, router: respx.MockRouter, clock
) -> None:
    """timeout=math.inf is the same as None."""
    router.get(PATH).mock(side_effect=_statuses(*[5] * 100, 1))
    speech = await api.wait_until_final(ID, timeout=math.inf, max_poll_interval=10.0)
    assert speech.is_completed
    assert clock.elapsed > 600


# -- deadlines -------------------------------------------------------------------------------------


async def test_deadline_raises_wait_timeout(
    api: AsyncSpeechAPI, router: respx.MockRouter, clock
) -> None:
    """At the deadline a WaitTimeoutError (a TimeoutError) carries the id and the last record."""
    router.get(PATH).mock(side_effect=_forever(5))
    with pytest.raises(WaitTimeoutError) as info:
        await api.wait_until_final(ID, timeout=30, poll_interval=1, max_poll_interval=5)
    exc = info.value
    assert isinstance(exc, TimeoutError)
    assert isinstance(exc, SpeechError)
    assert exc.audio_id == ID
    assert isinstance(exc.last, Speech)
    assert exc.last.audio_status is AudioStatus.QUEUED
    assert exc.timeout == 30
    assert exc.last_error is None
    assert "QUEUED" in str(exc)
    assert ID in str(exc)
    assert clock.elapsed == pytest.approx(30.0)
    assert max(clock.sleeps) <= 5.0


async def test_deadline_without_any_observation(
    api0: AsyncSpeechAPI, router: respx.MockRouter, clock
) -> None:
    """A wait whose every poll failed transiently times out with last=None and the last error."""
    router.get(PATH).mock(return_value=httpx.Response(503, json={"error": "upstream busy"}))
    with pytest.raises(WaitTimeoutError) as info:
        await api0.wait_until_final(ID, timeout=20)
    assert info.value.last is None
    assert isinstance(info.value.last_error, ServerError)
    assert info.value.__cause__ is info.value.last_error
    assert "never observed" in str(info.value)
    assert "upstream busy" in str(info.value)
    assert clock.elapsed == pytest.approx(20.0)


@virtual_time
async def test_deadline_on_virtual_clock(
    api: AsyncSpeechAPI, router: respx.MockRouter, real_timing: None
) -> None:
    """With the real timing, the wait ends within a fraction of a second of its deadline."""
    route = router.get(PATH).mock(side_effect=_forever(10))
    start = anyio.current_time()
    with pytest.raises(WaitTimeoutError) as info:
        await api.wait_until_final(ID, timeout=45, poll_interval=1, max_poll_interval=10)
    elapsed = anyio.current_time() - start
    assert 45.0 <= elapsed < 45.5
    assert info.value.last is not None
    assert info.value.last.audio_status is AudioStatus.GENERATING
    assert 8 <= route.call_count <= 12


@virtual_time
async def test_deadline_cuts_a_hanging_request(
    api: AsyncSpeechAPI, router: respx.MockRouter, real_timing: None
) -> None:
    """A poll that hangs past the deadline is cut short: the wait still ends at its deadline."""

    async def hang(request: httpx.Request) -> httpx.Response:
        await anyio.sleep(3_600)
        return _speech(1)

    router.get(PATH).mock(side_effect=[_speech(5), hang])
    start = anyio.current_time()
    with pytest.raises(WaitTimeoutError) as info:
        await api.wait_until_final(ID, timeout=12)
    assert 12.0 <= anyio.current_time() - start < 12.5
    assert info.value.last is not None
    assert info.value.last.audio_status is AudioStatus.QUEUED


@virtual_time
async def test_deadline_cuts_retry_backoff(
    api: AsyncSpeechAPI, router: respx.MockRouter, real_timing: None
) -> None:
    """Retries and their pauses inside a poll never carry a wait past its deadline."""
    router.get(PATH).mock(return_value=httpx.Response(502, json={"error": "bad gateway"}))
    start = anyio.current_time()
    with pytest.raises(WaitTimeoutError) as info:
        await api.wait_until_final(ID, timeout=3.3, poll_interval=0.5)
    assert 3.3 <= anyio.current_time() - start < 3.5
    assert isinstance(info.value.last_error, ServerError)


@virtual_time
async def test_retry_after_longer_than_deadline(
    api: AsyncSpeechAPI, router: respx.MockRouter, real_timing: None
) -> None:
    """A 429 asking for more time than is left ends the wait at its deadline, not later."""
    router.get(PATH).mock(
        return_value=httpx.Response(429, json={"error": "busy"}, headers={"Retry-After": "50"})
    )
    start = anyio.current_time()
    with pytest.raises(WaitTimeoutError):
        await api.wait_until_final(ID, timeout=30)
    assert 30.0 <= anyio.current_time() - start < 30.5


# -- transient and fatal failures ------------------------------------------------------------------


async def test_transient_failures_never_end_the_wait(
    api0: AsyncSpeechAPI, router: respx.MockRouter, clock
) -> None:
    """503, 429, connection errors, timeouts and malformed bodies are waited out."""
    route = router.get(PATH).mock(
        side_effect=[
            _speech(5),
            httpx.Response(503, json={"error": "busy"}),
            httpx.Response(429, json={"error": "at limit"}, headers={"Retry-After": "25"}),
            httpx.ConnectError("refused"),
            httpx.ReadTimeout("slow"),
            httpx.RemoteProtocolError("dropped"),
            httpx.Response(200, text="<html>oops</html>"),
            httpx.Response(200, json={"audio_status": "done"}),
            httpx.Response(500, json={"error": "internal"}),
            httpx.Response(408, json={"error": "request timeout"}),
            _speech(10),
            _speech(1),
        ]
    )
    speech = await api0.wait_until_final(ID, timeout=600, poll_interval=1, max_poll_interval=4)
    assert speech.is_completed
    assert route.call_count == 12
    assert clock.sleeps[2] >= 25.0  # the pause after the 429 honours its Retry-After
    assert all(pause <= 4.0 for i, pause in enumerate(clock.sleeps) if i != 2)


async def test_429_retry_after_above_cap_pauses_60s_then_polls(
    api: AsyncSpeechAPI, router: respx.MockRouter, clock
) -> None:
    """A Retry-After above the 60 s cap pauses a wait 60 s, then it polls again (issue 9: one cap
    everywhere; before, a wait slept the whole Retry-After, ~31 years for 1e9)."""
    router.get(PATH).mock(
        side_effect=[
            httpx.Response(429, json={"error": "busy"}, headers={"Retry-After": "90"}),
            _speech(1),
        ]
    )
    assert (await api.wait_until_final(ID, timeout=600)).is_completed
    assert clock.sleeps == [60.0]


async def test_huge_retry_after_with_no_deadline_still_ends(
    api: AsyncSpeechAPI, router: respx.MockRouter, clock
) -> None:
    """A Retry-After of 1e9 s inside a wait with timeout=None costs 60 s, not 31 years."""
    router.get(PATH).mock(
        side_effect=[
            httpx.Response(503, json={"error": "later"}, headers={"Retry-After": "1000000000"}),
            _speech(1),
        ]
    )
    assert (await api.wait_until_final(ID, timeout=None)).is_completed
    assert clock.elapsed == 60.0


async def test_501_ends_get_and_wait_alike(
    api: AsyncSpeechAPI, router: respx.MockRouter, clock
) -> None:
    """One policy: a 501 fails get() at once, and it ends a wait at once too (it kept polling)."""
    route = router.get(PATH).mock(return_value=httpx.Response(501, json={"error": "nope"}))
    with pytest.raises(ServerError):
        await api.get(ID)
    with pytest.raises(ServerError):
        await api.wait_until_final(ID, timeout=600)
    assert route.call_count == 2
    assert clock.sleeps == []


@pytest.mark.parametrize(
    ("status", "cls"),
    [(400, BadRequestError), (401, AuthenticationError), (404, NotFoundError), (596, AccountError)],
)
async def test_fatal_error_ends_the_wait_at_once(
    api: AsyncSpeechAPI, router: respx.MockRouter, clock, status: int, cls: type[Exception]
) -> None:
    """400, 401, 404 and 596 end a wait at once: one request, no retry, no pause."""
    route = router.get(PATH).mock(
        return_value=httpx.Response(status, json={"error": f"no {status}"})
    )
    with pytest.raises(cls) as info:
        await api.wait_until_final(ID, timeout=600)
    assert getattr(info.value, "audio_id", None) == ID
    assert route.call_count == 1
    assert clock.sleeps == []


async def test_not_found_after_observations_ends_the_wait(
    api: AsyncSpeechAPI, router: respx.MockRouter, clock
) -> None:
    """A job that disappears mid-wait (404) ends the wait with NotFoundError."""
    route = router.get(PATH).mock(
        side_effect=[_speech(5), _speech(10), httpx.Response(404, json={"error": "gone"})]
    )
    with pytest.raises(NotFoundError):
        await api.wait_until_final(ID)
    assert route.call_count == 3
    assert len(clock.sleeps) == 2


# -- outcomes --------------------------------------------------------------------------------------


async def test_failed_job_raises_speech_failed(api: AsyncSpeechAPI, router: respx.MockRouter):
    """A FAILED job raises SpeechFailedError with fail_code and fail_reason and its Speech."""
    router.get(PATH).mock(side_effect=_statuses(5, 8))
    with pytest.raises(SpeechFailedError) as info:
        await api.wait_until_final(ID)
    exc = info.value
    assert "500043" in str(exc)
    assert "upstream TTS error" in str(exc)
    assert ID in str(exc)
    assert exc.audio_id == ID
    assert isinstance(exc.speech, Speech)
    assert exc.speech.is_failed
    assert exc.speech.fail_code == "500043"


async def test_failed_job_returned_without_raise(api: AsyncSpeechAPI, router: respx.MockRouter):
    """raise_on_failure=False returns the FAILED record."""
    router.get(PATH).mock(side_effect=_statuses(10, 8))
    speech = await api.wait_until_final(ID, raise_on_failure=False)
    assert speech.is_failed
    assert speech.fail_reason == "upstream TTS error"


async def test_final_flag_wins_over_status_map(api: AsyncSpeechAPI, router: respx.MockRouter):
    """audio_status_final decides when a wait ends, even for an undocumented status."""
    router.get(PATH).mock(
        side_effect=[
            _speech(1, audio_status_final=False),
            _speech(7),
            _speech(7, audio_status_final=True),
        ]
    )
    speech = await api.wait_until_final(ID)
    assert speech.audio_status == 7
    assert speech.is_final


@pytest.mark.parametrize("kind", ["sync", "async"])
async def test_on_update_sees_first_and_changes(
    api0: AsyncSpeechAPI, router: respx.MockRouter, kind: str
) -> None:
    """on_update (sync or async) is called on the first record and on each status change only."""
    router.get(PATH).mock(
        side_effect=[
            _speech(5),
            _speech(5),
            httpx.Response(503, json={"error": "busy"}),
            _speech(5),
            _speech(10),
            _speech(10),
            _speech(1),
        ]
    )
    seen: list[int | None] = []

    def sync_update(speech: Speech) -> None:
        seen.append(speech.audio_status)

    async def async_update(speech: Speech) -> None:
        await anyio.lowlevel.checkpoint()
        seen.append(speech.audio_status)

    callback = sync_update if kind == "sync" else async_update
    await api0.wait_until_final(ID, on_update=callback)
    assert seen == [5, 10, 1]


async def test_on_update_sees_failure_before_raise(api: AsyncSpeechAPI, router: respx.MockRouter):
    """on_update is told of the FAILED record before SpeechFailedError is raised."""
    router.get(PATH).mock(side_effect=_statuses(8))
    seen: list[Speech] = []
    with pytest.raises(SpeechFailedError):
        await api.wait_until_final(ID, on_update=seen.append)
    assert [s.audio_status for s in seen] == [8]


@pytest.mark.parametrize(
    ("kwargs", "exc", "name"),
    [
        ({"timeout": 0}, ValueError, "timeout"),
        ({"timeout": -5}, ValueError, "timeout"),
        ({"timeout": math.nan}, ValueError, "timeout"),
        ({"timeout": "60"}, TypeError, "timeout"),
        ({"timeout": True}, TypeError, "timeout"),
        ({"poll_interval": 0}, ValueError, "poll_interval"),
        ({"poll_interval": -1}, ValueError, "poll_interval"),
        ({"poll_interval": math.inf}, ValueError, "poll_interval"),
        ({"poll_interval": math.nan}, ValueError, "poll_interval"),
        ({"poll_interval": "1"}, TypeError, "poll_interval"),
        ({"poll_interval": None}, TypeError, "poll_interval"),
        ({"max_poll_interval": 0}, ValueError, "max_poll_interval"),
        ({"max_poll_interval": "10"}, TypeError, "max_poll_interval"),
        ({"poll_interval": 5, "max_poll_interval": 2}, ValueError, "max_poll_interval"),
        ({"on_update": "print"}, TypeError, "on_update"),
        ({"raise_on_failure": "yes"}, TypeError, "raise_on_failure"),
        ({"raise_on_failure": None}, TypeError, "raise_on_failure"),
    ],
)
async def test_wait_bad_arguments(
    api: AsyncSpeechAPI,
    router: respx.MockRouter,
    kwargs: dict[str, object],
    exc: type[Exception],
    name: str,
) -> None:
    """Bad wait options raise, naming the option, before any request."""
    route = router.get(PATH).mock(return_value=_speech(1))
    with pytest.raises(exc, match=name):
        await api.wait_until_final(ID, **kwargs)  # type: ignore[arg-type]
    with pytest.raises(exc, match=name):
        await api.wait_many([ID], **kwargs)  # type: ignore[arg-type]
    assert route.call_count == 0


@pytest.mark.parametrize("audio_id", ["", "  ", None])
async def test_wait_bad_id(api: AsyncSpeechAPI, router: respx.MockRouter, audio_id: Any) -> None:
    """A blank or missing id is refused before any request."""
    route = router.route().mock(return_value=_speech(1))
    with pytest.raises((ValueError, TypeError), match="audio_id"):
        await api.wait_until_final(audio_id)
    assert route.call_count == 0


# -- cancellation ----------------------------------------------------------------------------------


async def test_cancel_during_a_request(api: AsyncSpeechAPI, router: respx.MockRouter) -> None:
    """A cancel scope around a wait ends it promptly mid-request, leaving no task behind."""
    entered = anyio.Event()
    scope = anyio.move_on_after(5)

    async def hang(request: httpx.Request) -> httpx.Response:
        entered.set()
        scope.deadline = anyio.current_time()  # the scope's timer fires mid-request
        await anyio.sleep_forever()
        raise AssertionError("unreachable")

    router.get(PATH).mock(side_effect=hang)
    tasks_before = _task_count()
    started = time.perf_counter()
    with scope:
        await api.wait_until_final(ID, timeout=None)
    assert scope.cancelled_caught
    assert entered.is_set()
    assert time.perf_counter() - started < 1.0
    await anyio.lowlevel.checkpoint()
    assert _task_count() == tasks_before


async def test_cancel_during_a_pause(
    api: AsyncSpeechAPI, router: respx.MockRouter, real_timing: None
) -> None:
    """A cancel scope ends a wait promptly while it pauses (really) between polls."""
    route = router.get(PATH).mock(side_effect=_forever(5))
    scope = anyio.move_on_after(5)

    def first_record(speech: Speech) -> None:
        scope.deadline = anyio.current_time() + 0.005  # fires during the 30 s pause

    started = time.perf_counter()
    with scope:
        await api.wait_until_final(
            ID, poll_interval=30, max_poll_interval=60, on_update=first_record
        )
    assert scope.cancelled_caught
    assert route.call_count == 1
    assert time.perf_counter() - started < 1.0


async def test_cancel_wait_many(api: AsyncSpeechAPI, router: respx.MockRouter) -> None:
    """Cancelling wait_many ends every per-id wait promptly, leaving no task behind."""
    in_flight = 0
    peak = 0
    scope = anyio.move_on_after(5)

    async def hang(request: httpx.Request) -> httpx.Response:
        nonlocal in_flight, peak
        in_flight += 1
        peak = max(peak, in_flight)
        if in_flight == 4:
            scope.deadline = anyio.current_time()  # every slot is busy: cancel now
        try:
            await anyio.sleep_forever()
        finally:
            in_flight -= 1
        raise AssertionError("unreachable")

    router.route(method="GET").mock(side_effect=hang)
    tasks_before = _task_count()
    started = time.perf_counter()
    with scope:
        await api.wait_many([f"id-{n}" for n in range(6)], concurrency=4, timeout=None)
    assert scope.cancelled_caught
    assert time.perf_counter() - started < 1.0
    assert peak == 4
    assert in_flight == 0
    await anyio.lowlevel.checkpoint()
    assert _task_count() == tasks_before


# -- wait_many -------------------------------------------------------------------------------------


async def test_wait_many_results_in_input_order(
    api: AsyncSpeechAPI, router: respx.MockRouter
) -> None:
    """Results come in input order: Speech for done and FAILED jobs, the error for a 404 id."""
    router.get("pixverse/speech/slow").mock(side_effect=_statuses(5, 10, 10, 1))
    router.get("pixverse/speech/gone").mock(
        return_value=httpx.Response(404, json={"error": "Speech gone not found"})
    )
    router.get("pixverse/speech/failed").mock(side_effect=_statuses(10, 8))
    router.get("pixverse/speech/fast").mock(return_value=_speech(1, audio_id="fast"))
    results = await api.wait_many(["slow", "gone", "failed", "fast"])
    assert len(results) == 4
    slow, gone, failed, fast = results
    assert isinstance(slow, Speech)
    assert slow.is_completed
    assert isinstance(gone, NotFoundError)
    assert gone.audio_id == "gone"
    assert isinstance(failed, Speech)
    assert failed.is_failed
    assert isinstance(fast, Speech)
    assert fast.audio_id == "fast"


async def test_wait_many_raise_on_failure_puts_error_in_slot(
    api: AsyncSpeechAPI, router: respx.MockRouter
) -> None:
    """With raise_on_failure=True a FAILED job's slot holds its SpeechFailedError."""
    router.get("pixverse/speech/a").mock(return_value=_speech(8, audio_id="a"))
    router.get("pixverse/speech/b").mock(return_value=_speech(1, audio_id="b"))
    first, second = await api.wait_many(["a", "b"], raise_on_failure=True)
    assert isinstance(first, SpeechFailedError)
    assert first.speech.audio_id == "a"
    assert isinstance(second, Speech)


async def test_wait_many_polls_duplicates_once(
    api: AsyncSpeechAPI, router: respx.MockRouter
) -> None:
    """An id given twice is polled once and its result fills both slots."""
    a = router.get("pixverse/speech/a").mock(return_value=_speech(1, audio_id="a"))
    b = router.get("pixverse/speech/b").mock(return_value=_speech(1, audio_id="b"))
    results = await api.wait_many(["a", "b", "a", "a"])
    assert a.call_count == 1
    assert b.call_count == 1
    assert [r.audio_id for r in results if isinstance(r, Speech)] == ["a", "b", "a", "a"]
    assert results[0] is results[2]


@pytest.mark.parametrize("concurrency", [1, 3])
async def test_wait_many_respects_concurrency(
    api: AsyncSpeechAPI, router: respx.MockRouter, concurrency: int
) -> None:
    """Never more than `concurrency` requests are in flight, and that many are used."""
    in_flight = 0
    peak = 0
    polls: dict[str, int] = {}

    async def answer(request: httpx.Request) -> httpx.Response:
        nonlocal in_flight, peak
        audio_id = request.url.path.rsplit("/", 1)[1]
        in_flight += 1
        peak = max(peak, in_flight)
        try:
            await anyio.sleep(0.001)
        finally:
            in_flight -= 1
        polls[audio_id] = polls.get(audio_id, 0) + 1
        return _speech(1 if polls[audio_id] >= 2 else 5, audio_id=audio_id)

    router.route(method="GET").mock(side_effect=answer)
    ids = [f"job-{n}" for n in range(10)]
    results = await api.wait_many(ids, concurrency=concurrency)
    assert [r.audio_id for r in results if isinstance(r, Speech)] == ids
    assert peak == concurrency
    assert sum(polls.values()) == 20


async def test_wait_many_one_bad_id_does_not_cancel_others(
    api: AsyncSpeechAPI, router: respx.MockRouter, clock
) -> None:
    """An id that fails at once leaves the others waiting to the end."""
    router.get("pixverse/speech/bad").mock(
        return_value=httpx.Response(401, json={"error": "Unauthorized"})
    )
    long = router.get("pixverse/speech/long").mock(side_effect=_statuses(*[5] * 10, 1))
    bad, done = await api.wait_many(["bad", "long"])
    assert isinstance(bad, AuthenticationError)
    assert isinstance(done, Speech)
    assert done.is_completed
    assert long.call_count == 11


async def test_wait_many_deadline_is_per_batch(
    api: AsyncSpeechAPI, router: respx.MockRouter, clock
) -> None:
    """`timeout` is one deadline for the batch: unfinished ids get WaitTimeoutError."""
    router.get("pixverse/speech/done").mock(return_value=_speech(1, audio_id="done"))
    router.get("pixverse/speech/stuck").mock(side_effect=_forever(10, "stuck"))
    done, stuck = await api.wait_many(["done", "stuck"], timeout=40)
    assert isinstance(done, Speech)
    assert isinstance(stuck, WaitTimeoutError)
    assert stuck.audio_id == "stuck"
    assert stuck.last is not None
    assert stuck.last.audio_status is AudioStatus.GENERATING
    assert clock.elapsed == pytest.approx(40.0)


@virtual_time
async def test_wait_many_deadline_on_virtual_clock(
    api: AsyncSpeechAPI, router: respx.MockRouter, real_timing: None
) -> None:
    """On trio's virtual clock a batch ends at its one deadline, every id at once."""
    router.route(method="GET").mock(
        side_effect=lambda request: _speech(5, audio_id=request.url.path.rsplit("/", 1)[1])
    )
    start = anyio.current_time()
    results = await api.wait_many([f"j{n}" for n in range(5)], timeout=25, concurrency=2)
    assert 25.0 <= anyio.current_time() - start < 25.5
    assert all(isinstance(r, WaitTimeoutError) for r in results)
    assert [r.audio_id for r in results] == [f"j{n}" for n in range(5)]


async def test_wait_many_on_update_per_job(api: AsyncSpeechAPI, router: respx.MockRouter):
    """on_update is called for each job's first record and status changes."""
    router.get("pixverse/speech/a").mock(side_effect=iter([_speech(5, "a"), _speech(1, "a")]))
    router.get("pixverse/speech/b").mock(return_value=_speech(1, audio_id="b"))
    seen: list[tuple[str | None, int | None]] = []
    await api.wait_many(["a", "b"], on_update=lambda s: seen.append((s.audio_id, s.audio_status)))
    assert sorted(seen) == [("a", 1), ("a", 5), ("b", 1)]


async def test_wait_many_empty(api: AsyncSpeechAPI, router: respx.MockRouter) -> None:
    """No ids, no requests, an empty list."""
    route = router.route().mock(return_value=_speech(1))
    assert await api.wait_many([]) == []
    assert route.call_count == 0


async def test_wait_many_accepts_any_iterable(api: AsyncSpeechAPI, router: respx.MockRouter):
    """A generator or tuple of ids works like a list."""
    router.route(method="GET").mock(
        side_effect=lambda request: _speech(1, audio_id=request.url.path.rsplit("/", 1)[1])
    )
    results = await api.wait_many(f"g{n}" for n in range(3))
    assert [r.audio_id for r in results if isinstance(r, Speech)] == ["g0", "g1", "g2"]


@pytest.mark.parametrize(
    ("ids", "exc", "match"),
    [
        ("user:1-pixverse:me@example.com-speech:42", TypeError, "single string"),
        (["ok", ""], ValueError, r"audio_ids\[1\]"),
        (["ok", "   "], ValueError, r"audio_ids\[1\]"),
        ([None], TypeError, r"audio_ids\[0\]"),
        ([7, "ok"], TypeError, r"audio_ids\[0\]"),
    ],
)
async def test_wait_many_bad_ids_raise_up_front(
    api: AsyncSpeechAPI, router: respx.MockRouter, ids: Any, exc: type[Exception], match: str
) -> None:
    """A string instead of a list, or any blank or non-string id, raises before any request."""
    route = router.route().mock(return_value=_speech(1))
    with pytest.raises(exc, match=match):
        await api.wait_many(ids)
    assert route.call_count == 0


@pytest.mark.parametrize(
    ("concurrency", "exc"), [(0, ValueError), (-1, ValueError), ("2", TypeError), (2.0, TypeError)]
)
async def test_wait_many_bad_concurrency(
    api: AsyncSpeechAPI, router: respx.MockRouter, concurrency: Any, exc: type[Exception]
) -> None:
    """concurrency must be a positive integer."""
    route = router.route().mock(return_value=_speech(1))
    with pytest.raises(exc, match="concurrency"):
        await api.wait_many(["a"], concurrency=concurrency)
    assert route.call_count == 0
