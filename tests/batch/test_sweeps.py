"""wait_many's sweeps against the fake: finding jobs, falling back to GETs, pacing, errors."""

from __future__ import annotations

import itertools
import time

import anyio
import anyio.lowlevel
import pytest

from pixverse_speech import (
    AsyncSpeechAPI,
    AudioStatus,
    NotFoundError,
    RateLimitError,
    ServerError,
    Speech,
    SpeechFailedError,
    WaitTimeoutError,
)
from pixverse_speech._sweeps import account_of
from pixverse_speech.testing import FakeClock, FakeSpeechAPI, Fault

from ._support import LIST, LIST_PATH, Detections, client, gets, lists

pytestmark = pytest.mark.anyio


def _task_count() -> int:
    """Tasks alive in the current event loop."""
    import sniffio

    if sniffio.current_async_library() == "asyncio":
        import asyncio

        return len(asyncio.all_tasks())
    import trio

    def count(task: trio.lowlevel.Task) -> int:
        return 1 + sum(count(child) for n in task.child_nurseries for child in n.child_tasks)

    return count(trio.lowlevel.current_root_task())


# -- ids ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("audio_id", "email"),
    [
        ("user:1-pixverse:fake@example.com-speech:11223344", "fake@example.com"),
        ("user:77-pixverse:first-last@my-domain.example-speech:5", "first-last@my-domain.example"),
        ("user:1-pixverse:odd-speech:1@example.com-speech:9", "odd-speech:1@example.com"),
        ("user:1-pixverse:me@example.com-speech:", None),
        ("user:1-pixverse:-speech:5", None),
        ("pixverse:me@example.com-speech:5", None),
        ("user:1-pixverse:me@example.com-speech:5 ", None),
        ("legacy-42", None),
    ],
)
def test_account_of(audio_id: str, email: str | None) -> None:
    """The email is read from the id (it may contain '-'); other shapes have no account."""
    assert account_of(audio_id) == email


# -- sweeps ------------------------------------------------------------------------------------


async def test_sweeps_find_jobs_without_gets(fake: FakeSpeechAPI, api: AsyncSpeechAPI) -> None:
    """120 pending jobs are watched through list pages alone; results carry the list's fields."""
    ids = [fake.add_job(queued_for=1.0, generating_for=2.0 + n % 7) for n in range(120)]
    with fake.virtual_time():
        results = await api.wait_many(ids)
    assert [r.audio_id for r in results if isinstance(r, Speech)] == ids
    assert all(isinstance(r, Speech) and r.is_completed for r in results)
    assert gets(fake) == []
    assert {r.query["limit"] for r in lists(fake)} == {"50"}
    assert {r.query["email"] for r in lists(fake)} == {"fake@example.com"}
    first = results[0]
    assert isinstance(first, Speech)
    assert first.url  # the list has these ...
    assert first.duration
    assert first.file_size is None  # ... but not these
    assert first.path is None


async def test_first_round_at_once_then_the_schedule(
    fake: FakeSpeechAPI, api: AsyncSpeechAPI
) -> None:
    """Rounds follow the poll schedule: at 0 s, then pauses growing from 1 s to at most 4 s."""
    ids = [fake.add_job(queued_for=1.0, generating_for=20.0) for _ in range(10)]
    with fake.virtual_time():
        await api.wait_many(ids)
    times = sorted({r.time for r in lists(fake)})
    assert times[0] == 0.0
    pauses = [b - a for a, b in itertools.pairwise(times)]
    assert 0.9 <= pauses[0] <= 1.0
    assert all(later >= earlier * 0.9 for earlier, later in itertools.pairwise(pauses))
    assert max(pauses) <= 4.0
    assert 20.0 < times[-1] <= 25.0


async def test_on_update_first_observation_and_changes(
    fake: FakeSpeechAPI, api: AsyncSpeechAPI
) -> None:
    """on_update sees each job's first record and each status change, never a repeat."""
    ids = [fake.add_job(queued_for=2.0, generating_for=4.0) for _ in range(3)]
    detections = Detections(fake)
    with fake.virtual_time():
        await api.wait_many(ids, on_update=detections)
    for audio_id in ids:
        seen = [status for job, status in detections.updates if job == audio_id]
        assert seen == ["QUEUED", "GENERATING", "COMPLETED"]


async def test_ids_absent_from_the_list_fall_back_to_gets(
    fake: FakeSpeechAPI, api: AsyncSpeechAPI
) -> None:
    """Jobs far below newer ones in the list are polled by GET after a short discovery."""
    ids = [fake.add_job(queued_for=1.0, generating_for=5.0) for _ in range(20)]
    for _ in range(400):  # newer jobs: ours are 8 pages down
        fake.add_job(queued_for=0.0, generating_for=0.0)
    with fake.virtual_time():
        results = await api.wait_many(ids)
    assert all(isinstance(r, Speech) and r.is_completed for r in results)
    assert [int(r.query["offset"]) for r in lists(fake)] == [0, 50]
    assert len(gets(fake)) >= 20 * 4  # every job, every round


async def test_old_finished_jobs_cost_one_get_each(
    fake: FakeSpeechAPI, api: AsyncSpeechAPI
) -> None:
    """Old jobs deep in the list are fetched once by GET; the new ones are swept."""
    old = [fake.add_job(queued_for=0.0, generating_for=0.0) for _ in range(3)]
    for _ in range(500):
        fake.add_job(queued_for=0.0, generating_for=0.0)
    new = [fake.add_job(queued_for=1.0, generating_for=6.0) for _ in range(30)]
    fake.reset_stats()
    with fake.virtual_time():
        results = await api.wait_many([*old, *new])
    assert all(isinstance(r, Speech) and r.is_completed for r in results)
    assert [len(gets(fake, audio_id)) for audio_id in old] == [1, 1, 1]
    assert all(gets(fake, audio_id) == [] for audio_id in new)


async def test_failed_job_is_fetched_once_for_its_reason(
    fake: FakeSpeechAPI, api: AsyncSpeechAPI
) -> None:
    """A job seen FAILED in a page is fetched once with GET: the result has fail_code/reason."""
    ids = [fake.add_job(queued_for=1.0, generating_for=3.0) for _ in range(5)]
    failed = fake.add_job(
        queued_for=1.0, generating_for=3.0, outcome="failed", fail_code="7", fail_reason="boom"
    )
    detections = Detections(fake)
    with fake.virtual_time():
        results = await api.wait_many([*ids, failed], on_update=detections)
    last = results[-1]
    assert isinstance(last, Speech)
    assert last.is_failed
    assert (last.fail_code, last.fail_reason) == ("7", "boom")
    assert len(gets(fake, failed)) == 1
    assert [s for a, s in detections.updates if a == failed] == ["QUEUED", "GENERATING", "FAILED"]


async def test_raise_on_failure_puts_the_error_in_the_slot(
    fake: FakeSpeechAPI, api: AsyncSpeechAPI
) -> None:
    """With raise_on_failure=True a swept FAILED job's slot holds SpeechFailedError."""
    done = fake.add_job(queued_for=0.0, generating_for=1.0)
    failed = fake.add_job(queued_for=0.0, generating_for=1.0, outcome="failed", fail_reason="x")
    with fake.virtual_time():
        first, second = await api.wait_many([done, failed], raise_on_failure=True)
    assert isinstance(first, Speech)
    assert isinstance(second, SpeechFailedError)
    assert second.speech.fail_reason == "x"


async def test_missing_id_gets_not_found_in_its_slot(
    fake: FakeSpeechAPI, api: AsyncSpeechAPI
) -> None:
    """An id of the account that does not exist ends in NotFoundError; the others complete."""
    ids = [fake.add_job(queued_for=1.0, generating_for=2.0) for _ in range(4)]
    missing = "user:1-pixverse:fake@example.com-speech:999"
    with fake.virtual_time():
        results = await api.wait_many([ids[0], missing, *ids[1:]])
    assert isinstance(results[1], NotFoundError)
    assert results[1].audio_id == missing
    assert all(isinstance(r, Speech) and r.is_completed for i, r in enumerate(results) if i != 1)
    assert len(gets(fake, missing)) == 1


async def test_two_accounts_are_swept_apart() -> None:
    """Ids of two accounts (one email with '-') are swept with each account's email."""
    fake = FakeSpeechAPI(clock=FakeClock(), accounts=("a@example.com", "b-c@ex-ample.com"))
    ids = [
        fake.add_job(email=("a@example.com", "b-c@ex-ample.com")[n % 2], generating_for=3.0)
        for n in range(40)
    ]
    async with client(fake) as api:
        with fake.virtual_time():
            results = await api.wait_many(ids)
    assert all(isinstance(r, Speech) and r.is_completed for r in results)
    assert {r.query["email"] for r in lists(fake)} == {"a@example.com", "b-c@ex-ample.com"}
    assert gets(fake) == []


async def test_unparseable_ids_are_polled_by_id(fake: FakeSpeechAPI, api: AsyncSpeechAPI) -> None:
    """Ids without the account format are polled with GET; they never cause a list request."""
    with fake.virtual_time():
        results = await api.wait_many(["legacy-1", "legacy-2"])
    assert all(isinstance(r, NotFoundError) for r in results)
    assert sorted(r.path for r in fake.requests) == [
        "/v2/pixverse/speech/legacy-1",
        "/v2/pixverse/speech/legacy-2",
    ]


async def test_duplicates_are_polled_once(fake: FakeSpeechAPI, api: AsyncSpeechAPI) -> None:
    """An id given twice is observed once and fills both slots with the same result."""
    a = fake.add_job(generating_for=2.0)
    b = fake.add_job(generating_for=2.0, outcome="failed")
    with fake.virtual_time():
        results = await api.wait_many([a, b, a, b, a])
    assert results[0] is results[2] is results[4]
    assert results[1] is results[3]
    assert len(gets(fake, b)) == 1
    assert gets(fake, a) == []


async def test_single_id_costs_what_per_id_costs(fake: FakeSpeechAPI, api: AsyncSpeechAPI) -> None:
    """One id of an account is simply polled by GET: no list page for a single job."""
    audio_id = fake.add_job(queued_for=0.0, generating_for=2.0)
    with fake.virtual_time():
        [result] = await api.wait_many([audio_id])
    assert isinstance(result, Speech)
    assert result.is_completed
    assert lists(fake) == []


# -- pacing and list errors --------------------------------------------------------------------


async def test_429_on_the_list_paces_the_account(fake: FakeSpeechAPI, api: AsyncSpeechAPI) -> None:
    """A list answering 429 with Retry-After is asked again no sooner; no wait fails."""
    ids = [fake.add_job(queued_for=1.0, generating_for=10.0) for _ in range(30)]
    busy = fake.inject(
        Fault.status(429, headers={"Retry-After": "7"}), method="GET", path=LIST_PATH, times=3
    )
    with fake.virtual_time():
        results = await api.wait_many(ids)
    assert all(isinstance(r, Speech) and r.is_completed for r in results)
    assert busy.fired == 3
    limited = [r for r in lists(fake) if r.status == 429]
    times = [r.time for r in lists(fake)]
    first_ok = next(i for i, r in enumerate(lists(fake)) if r.status == 200)
    assert first_ok == 3
    gaps = [b - a for a, b in itertools.pairwise(times[: first_ok + 1])]
    assert len(limited) == 3
    assert all(gap >= 7.0 for gap in gaps)
    # No GET hammered the busy account meanwhile.
    assert all(r.time >= times[first_ok] for r in gets(fake))


async def test_429_without_retry_after_backs_off(fake: FakeSpeechAPI, api: AsyncSpeechAPI) -> None:
    """A 429 with no Retry-After still slows the account down and fails nothing."""
    ids = [fake.add_job(queued_for=1.0, generating_for=5.0) for _ in range(10)]
    fake.inject(Fault.status(429), method="GET", path=LIST_PATH, times=4)
    with fake.virtual_time():
        results = await api.wait_many(ids)
    assert all(isinstance(r, Speech) and r.is_completed for r in results)


async def test_list_errors_fall_back_to_gets(fake: FakeSpeechAPI, api: AsyncSpeechAPI) -> None:
    """A list endpoint answering 503 every time: every job still completes, through GETs."""
    ids = [fake.add_job(queued_for=1.0, generating_for=8.0) for _ in range(12)]
    fake.inject(Fault.status(503), method="GET", path=LIST_PATH)
    with fake.virtual_time():
        results = await api.wait_many(ids)
    assert all(isinstance(r, Speech) and r.is_completed for r in results)
    assert all(r.status == 503 for r in lists(fake))
    assert len(gets(fake)) >= 12
    # Each round's GETs go out at once, and the failing list is rested between tries.
    rounds = sorted({r.time for r in gets(fake)})
    assert rounds[0] == 0.0
    assert len(lists(fake)) < len(rounds)


async def test_one_list_error_costs_one_round_of_gets(
    fake: FakeSpeechAPI, api: AsyncSpeechAPI
) -> None:
    """A list failing once: GETs at once for that round (no retry's pause), sweeps after."""
    ids = [fake.add_job(queued_for=1.0, generating_for=8.0) for _ in range(12)]
    fake.inject(Fault.status(503), method="GET", path=LIST_PATH, times=1)
    with fake.virtual_time():
        results = await api.wait_many(ids)
    assert all(isinstance(r, Speech) and r.is_completed for r in results)
    assert len(gets(fake)) == 12
    assert {r.time for r in gets(fake)} == {0.0}


async def test_list_refused_for_good_polls_by_id() -> None:
    """A list refused with 400 (say, the email is not an account) turns the account over to GETs."""
    fake = FakeSpeechAPI(clock=FakeClock())
    ids = [fake.add_job(generating_for=3.0) for _ in range(5)]
    fake.inject(Fault.status(400), method="GET", path=LIST_PATH)
    async with client(fake) as api:
        with fake.virtual_time():
            results = await api.wait_many(ids)
    assert all(isinstance(r, Speech) and r.is_completed for r in results)
    assert len(lists(fake)) == 1


async def test_transient_get_errors_do_not_end_waits(
    fake: FakeSpeechAPI, api: AsyncSpeechAPI
) -> None:
    """GETs failing with 502 are waited through, like per-id waiting does."""
    ids = [fake.add_job(generating_for=3.0, outcome="failed") for _ in range(3)]
    fake.inject(Fault.status(502), method="GET", path="speech/user:", times=6)
    with fake.virtual_time():
        results = await api.wait_many(ids)
    assert all(isinstance(r, Speech) and r.is_failed and r.fail_reason for r in results)


async def test_concurrency_bounds_requests_in_flight() -> None:
    """List pages and GETs together never exceed `concurrency` requests at the fake."""
    fake = FakeSpeechAPI(clock=FakeClock(), accounts=("a@example.com", "b@example.com"))
    ids = [
        fake.add_job(email=("a@example.com", "b@example.com")[n % 2], generating_for=2.0)
        for n in range(60)
    ]
    for _ in range(300):  # b's jobs are deep: polled by GET, several at a time
        fake.add_job(email="b@example.com", queued_for=0.0, generating_for=0.0)
    fake.inject(Fault.delay(0.002))
    async with client(fake) as api:
        with fake.virtual_time():
            results = await api.wait_many([*ids, "legacy-1"], concurrency=3)
    assert all(isinstance(r, Speech) for r in results[:-1])
    assert isinstance(results[-1], NotFoundError)
    assert fake.max_in_flight == 3


async def test_deadline_for_the_batch(fake: FakeSpeechAPI, api: AsyncSpeechAPI) -> None:
    """Jobs not final by the one deadline get WaitTimeoutError with their last record."""
    done = fake.add_job(queued_for=1.0, generating_for=2.0)
    stuck = [fake.add_job(queued_for=1.0, generating_for=1e6) for _ in range(3)]
    with fake.virtual_time():
        results = await api.wait_many([done, *stuck], timeout=30.0)
    assert isinstance(results[0], Speech)
    for audio_id, result in zip(stuck, results[1:], strict=True):
        assert isinstance(result, WaitTimeoutError)
        assert result.audio_id == audio_id
        assert result.last is not None
        assert result.last.audio_status is AudioStatus.GENERATING
    assert 30.0 <= fake.clock.now() < 30.5


async def test_deadline_with_the_list_rate_limited(
    fake: FakeSpeechAPI, api: AsyncSpeechAPI
) -> None:
    """A list that stays 429 never fails a wait early; the deadline reports the 429."""
    ids = [fake.add_job(generating_for=1e6) for _ in range(3)]
    fake.inject(Fault.status(429, headers={"Retry-After": "5"}), method="GET", path=LIST_PATH)
    with fake.virtual_time():
        results = await api.wait_many(ids, timeout=20.0)
    for result in results:
        assert isinstance(result, WaitTimeoutError)
        assert isinstance(result.last_error, RateLimitError)


async def test_cancelling_wait_many_leaves_nothing_running(
    fake: FakeSpeechAPI, api: AsyncSpeechAPI
) -> None:
    """Cancelled mid-request, wait_many ends at once with no task or request left behind."""
    ids = [fake.add_job(generating_for=100.0) for _ in range(10)]
    fake.inject(Fault.delay(30.0), method="GET", path=LIST_PATH)
    tasks = _task_count()
    started = time.perf_counter()
    with anyio.move_on_after(0.1) as scope:
        await api.wait_many(ids, timeout=None)
    assert scope.cancelled_caught
    assert time.perf_counter() - started < 2.0
    await anyio.lowlevel.checkpoint()
    assert _task_count() == tasks
    assert fake.in_flight == 0


async def test_transient_server_errors_are_kept_as_last_error(
    fake: FakeSpeechAPI, api: AsyncSpeechAPI
) -> None:
    """A job the list never shows and whose GETs keep failing times out with that error."""
    audio_id = fake.add_job(generating_for=1.0)
    fake.inject(Fault.status(503), method="GET")
    with fake.virtual_time():
        [result] = await api.wait_many([audio_id], timeout=15.0)
    assert isinstance(result, WaitTimeoutError)
    assert isinstance(result.last_error, ServerError)
    assert result.__cause__ is result.last_error


async def test_over_a_real_socket() -> None:
    """Served on 127.0.0.1 in real time: jobs are swept over keep-alive connections, none lost."""
    fake = FakeSpeechAPI(queued_for=0.05)
    ids = [fake.add_job(generating_for=0.1 + 0.01 * n) for n in range(60)]
    failed = fake.add_job(generating_for=0.2, outcome="failed")
    with fake.serve() as base_url:
        async with AsyncSpeechAPI(fake.token, base_url=base_url) as api:
            results = await api.wait_many(
                [*ids, failed], timeout=20.0, poll_interval=0.05, max_poll_interval=0.1
            )
    assert all(isinstance(r, Speech) and r.is_completed for r in results[:-1])
    last = results[-1]
    assert isinstance(last, Speech)
    assert last.fail_reason
    paths = [r.path for r in gets(fake)]
    assert LIST + failed in paths  # a FAILED job is fetched for its reason
    # In real time on a loaded machine a page can miss a job that the next round then GETs; the
    # sweeps must still carry the work (test_sweeps_find_jobs_without_gets pins zero GETs on
    # virtual time).
    assert len(paths) <= 1 + len(ids) // 10, paths


async def test_aclose_during_wait_many_raises_runtime_error(fake: FakeSpeechAPI) -> None:
    """Closing the client while wait_many waits ends it with a plain RuntimeError."""
    ids = [fake.add_job(generating_for=1e6) for _ in range(5)]
    api = client(fake)

    async def close_soon() -> None:
        await anyio.sleep(0.05)
        await api.aclose()

    async with anyio.create_task_group() as tg:
        tg.start_soon(close_soon)
        with pytest.raises(RuntimeError, match="closed"):
            await api.wait_many(ids, poll_interval=0.01, max_poll_interval=0.01, timeout=None)
