"""The wait engine: concurrent wait_until_final calls share list sweeps; lone waits GET."""

from __future__ import annotations

import random

import anyio
import anyio.lowlevel
import pytest

from pixverse_speech import AsyncSpeechAPI, NotFoundError, Speech, SpeechFailedError
from pixverse_speech._polling import PollSchedule
from pixverse_speech.testing import FakeClock, FakeSpeechAPI, Fault

pytestmark = pytest.mark.anyio

LIST = "/v2/pixverse/speech/"


def _client(fake: FakeSpeechAPI) -> AsyncSpeechAPI:
    return AsyncSpeechAPI(
        token=fake.token, base_url="http://fake/v2/", transport=fake.transport(), max_connections=64
    )


def _lists(fake: FakeSpeechAPI) -> int:
    return sum(1 for r in fake.requests if r.path == LIST)


def _gets(fake: FakeSpeechAPI) -> int:
    return sum(1 for r in fake.requests if r.path != LIST)


@pytest.fixture
def fake() -> FakeSpeechAPI:
    """A fake of one account on a clock that moves only when the client waits."""
    return FakeSpeechAPI(clock=FakeClock())


async def _gather(api: AsyncSpeechAPI, ids: list[str], **kwargs: object) -> dict[str, Speech]:
    results: dict[str, Speech] = {}

    async def one(audio_id: str) -> None:
        results[audio_id] = await api.wait_until_final(audio_id, **kwargs)  # type: ignore[arg-type]

    async with anyio.create_task_group() as tg:
        for audio_id in ids:
            tg.start_soon(one, audio_id)
    return results


async def test_lone_wait_on_a_final_job_costs_one_get(fake: FakeSpeechAPI) -> None:
    """A lone wait polls by GET: on a job already final it sends exactly one request."""
    audio_id = fake.add_job(queued_for=0.0, generating_for=0.0)
    async with _client(fake) as api:
        with fake.virtual_time():
            speech = await api.wait_until_final(audio_id)
    assert speech.is_completed
    assert [r.path for r in fake.requests] == [LIST + audio_id]


async def test_lone_wait_never_reads_the_list(fake: FakeSpeechAPI) -> None:
    """The list is read only for two or more waits: a lone wait of 30 s sends only GETs."""
    audio_id = fake.add_job(queued_for=1.0, generating_for=29.0)
    async with _client(fake) as api:
        with fake.virtual_time():
            assert (await api.wait_until_final(audio_id)).is_completed
    assert _lists(fake) == 0
    assert _gets(fake) > 5


async def test_gathered_waits_start_with_one_sweep(fake: FakeSpeechAPI) -> None:
    """300 waits started together: the first poll is one sweep (6 pages), not 300 GETs."""
    ids = [fake.add_job(queued_for=1.0, generating_for=60.0) for _ in range(300)]
    async with _client(fake) as api:
        with fake.virtual_time():
            await _gather(api, ids)
    first = [r for r in fake.requests if r.time == 0.0]
    assert [r.path for r in first] == [LIST] * 6  # ceil(300 / 50) pages, no GET
    assert sorted(int(r.query["offset"]) for r in first) == [0, 50, 100, 150, 200, 250]


async def test_coalesced_waits_return_what_get_returns(fake: FakeSpeechAPI) -> None:
    """A job seen final in a page is fetched by one GET: the full record, as get() returns."""
    ids = [fake.add_job(queued_for=1.0, generating_for=5.0 + i) for i in range(20)]
    async with _client(fake) as api:
        with fake.virtual_time():
            results = await _gather(api, ids)
            for audio_id in ids:
                assert results[audio_id] == await api.get(audio_id)
    for speech in results.values():
        assert speech.is_completed
        assert speech.path is not None
        assert speech.file_size is not None
    assert _lists(fake) > 0
    # One GET per job to fetch its full record, then the 20 get() calls above.
    assert _gets(fake) == 40


async def test_coalesced_waits_send_a_tenth_of_per_id_requests(fake: FakeSpeechAPI) -> None:
    """200 waits of one account finishing over 5-120 s cost < 1/10 of 200 GET-polling loops."""
    rng = random.Random(5)
    finish = {
        fake.add_job(queued_for=1.0, generating_for=rng.uniform(4.0, 119.0)): 0.0
        for _ in range(200)
    }
    async with _client(fake) as api:
        api.wait_engine.rng.seed(1)
        with fake.virtual_time():
            results = await _gather(api, list(finish))
    assert all(speech.is_completed for speech in results.values())
    # Per-id polling on the default schedule costs ~19 GETs per job here: ~3,800.
    assert len(fake.requests) < 380


async def test_on_update_and_failure_as_for_a_lone_wait(fake: FakeSpeechAPI) -> None:
    """Coalesced waits call on_update for the first record and each change; FAILED raises."""
    ok = fake.add_job(queued_for=2.0, generating_for=5.0)
    bad = fake.add_job(queued_for=2.0, generating_for=5.0, outcome="failed")
    updates: dict[str, list[str]] = {ok: [], bad: []}

    def note(speech: Speech) -> None:
        assert speech.audio_id is not None
        updates[speech.audio_id].append(speech.status_name)

    async with _client(fake) as api:
        with fake.virtual_time():
            async with anyio.create_task_group() as tg:
                tg.start_soon(lambda: api.wait_until_final(ok, on_update=note))

                async def failing() -> None:
                    with pytest.raises(SpeechFailedError) as info:
                        await api.wait_until_final(bad, on_update=note)
                    assert info.value.speech.fail_reason

                tg.start_soon(failing)
    assert updates[ok] == ["QUEUED", "GENERATING", "COMPLETED"]
    assert updates[bad] == ["QUEUED", "GENERATING", "FAILED"]
    assert _lists(fake) > 0


async def test_ids_the_list_does_not_show_end_by_get(fake: FakeSpeechAPI) -> None:
    """A deleted job among coalesced waits is polled by GET and ends with NotFoundError."""
    ids = [fake.add_job(queued_for=1.0, generating_for=8.0) for _ in range(5)]
    missing = "user:1-pixverse:fake@example.com-speech:99999999"
    other_shape = "no-account-in-this-id"
    errors: dict[str, BaseException] = {}

    async def expect_error(audio_id: str) -> None:
        try:
            await api.wait_until_final(audio_id)
        except NotFoundError as exc:
            errors[audio_id] = exc

    async with _client(fake) as api:
        with fake.virtual_time():
            async with anyio.create_task_group() as tg:
                for audio_id in ids:
                    tg.start_soon(api.wait_until_final, audio_id)
                tg.start_soon(expect_error, missing)
                tg.start_soon(expect_error, other_shape)
    assert set(errors) == {missing, other_shape}


async def test_cancelling_the_sweeping_wait_disturbs_no_other(fake: FakeSpeechAPI) -> None:
    """Cancelling waits (the one hosting the sweep among them) leaves the others to finish."""
    ids = [fake.add_job(queued_for=1.0, generating_for=10.0 + i) for i in range(10)]
    done: list[str] = []

    async def keep(audio_id: str) -> None:
        await api.wait_until_final(audio_id)
        done.append(audio_id)

    async with _client(fake) as api:
        with fake.virtual_time():
            async with anyio.create_task_group() as tg:
                doomed = anyio.CancelScope()

                async def cancelled(audio_id: str) -> None:
                    with doomed:
                        await api.wait_until_final(audio_id)

                tg.start_soon(cancelled, ids[0])  # first in: it runs the first sweep
                for audio_id in ids[1:]:
                    tg.start_soon(keep, audio_id)
                await anyio.lowlevel.checkpoint()
                await anyio.lowlevel.checkpoint()
                doomed.cancel()
        assert api.wait_engine.pending_ids == frozenset()
    assert sorted(done) == sorted(ids[1:])


async def test_429_on_the_list_slows_down_and_fails_no_wait(fake: FakeSpeechAPI) -> None:
    """Lists answered 429 slow the account down; every coalesced wait still completes."""
    ids = [fake.add_job(queued_for=1.0, generating_for=10.0) for _ in range(10)]
    fake.inject(Fault.status(429, headers={"Retry-After": "5"}), path="speech/", times=3)
    async with _client(fake) as api:
        with fake.virtual_time():
            results = await _gather(api, ids)
    assert all(speech.is_completed for speech in results.values())


async def test_default_schedule_applies_when_no_interval_is_passed(fake: FakeSpeechAPI) -> None:
    """An engine default schedule of 30 s: a wait passing no interval polls at 0 s, then 30 s."""
    audio_id = fake.add_job(queued_for=1.0, generating_for=40.0)
    async with _client(fake) as api:
        api.wait_engine.default_schedule = PollSchedule(initial=30.0, maximum=30.0, jitter=0.0)
        with fake.virtual_time():
            assert (await api.wait_until_final(audio_id)).is_completed
            assert fake.clock.now() == pytest.approx(60.0)
    assert len(fake.requests) == 3  # at 0, 30 and 60 s


async def test_a_passed_interval_beats_the_default_schedule(fake: FakeSpeechAPI) -> None:
    """poll_interval/max_poll_interval passed by the caller replace the engine's default."""
    audio_id = fake.add_job(queued_for=1.0, generating_for=9.0)
    async with _client(fake) as api:
        api.wait_engine.default_schedule = PollSchedule(initial=30.0, maximum=30.0)
        with fake.virtual_time():
            await api.wait_until_final(audio_id, poll_interval=1.0, max_poll_interval=1.0)
            assert fake.clock.now() <= 11.0


async def test_no_task_outlives_the_waits(fake: FakeSpeechAPI) -> None:
    """After 50 coalesced waits end, the engine holds no id and no pool."""
    ids = [fake.add_job(queued_for=1.0, generating_for=3.0) for _ in range(50)]
    async with _client(fake) as api:
        with fake.virtual_time():
            await _gather(api, ids)
        assert api.wait_engine.pending_ids == frozenset()
