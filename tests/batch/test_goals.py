"""The goals of issue 5, part 1, on the fake's virtual clock: requests, detection, scale."""

from __future__ import annotations

import statistics

import anyio
import pytest

from pixverse_speech import Speech, _timing
from pixverse_speech.testing import FakeClock, FakeSpeechAPI

from ._support import Baseline, Detections, Spread, client, gets, lists, options

pytestmark = pytest.mark.anyio


async def _sweep(
    fake: FakeSpeechAPI, spread: Spread, *, jitter: float = 0.1, newer: int = 0
) -> tuple[dict[str, float], Detections, list[Speech]]:
    """Run wait_many's sweeps over ``spread`` (pushed ``newer`` jobs deep); the finish times."""
    finish = spread.add(fake)
    for _ in range(newer):
        fake.add_job(queued_for=0.0, generating_for=0.0)
    fake.reset_stats()
    detections = Detections(fake)
    async with client(fake) as api:
        api.wait_engine.rng.seed(3)
        with fake.virtual_time():
            results = await api.wait_engine.wait_many(
                list(finish), 8, options(jitter=jitter, on_update=detections)
            )
    speeches = [r for r in results if isinstance(r, Speech)]
    assert len(speeches) == len(finish)  # no job lost, no error
    return finish, detections, speeches


async def test_300_jobs_need_a_twentieth_of_the_requests(
    fake: FakeSpeechAPI, spread_300_per_id: Baseline
) -> None:
    """300 pending jobs of one account: at most 1/20 of per-id waiting's requests, none lost."""
    finish, detections, speeches = await _sweep(fake, Spread(n=300))
    swept = len(fake.requests)
    assert swept * 20 <= spread_300_per_id.requests, (swept, spread_300_per_id.requests)
    assert all(s.is_final for s in speeches)
    failed = [s for s in speeches if s.is_failed]
    assert failed  # the scenario has some, each fetched once for its reason
    assert all(s.fail_reason and s.fail_code for s in failed)
    assert all(len(gets(fake, s.audio_id)) == 1 for s in failed if s.audio_id)
    # Detection as soon as per-id waiting: no job seen later than one longest pause after it
    # finished, and on average no later (within the noise of one draw of jitter).
    delays = detections.delays(finish)
    assert min(delays) >= 0
    assert max(delays) <= 4.0 + 1e-9
    assert statistics.mean(delays) <= 1.1 * statistics.mean(spread_300_per_id.delays)


async def test_no_job_is_seen_final_later_than_per_id(
    fake: FakeSpeechAPI, spread_300_per_id_no_jitter: Baseline
) -> None:
    """Without jitter (so both poll at the same instants) every job is seen final no later."""
    finish, detections, _ = await _sweep(fake, Spread(n=300), jitter=0.0)
    per_id = spread_300_per_id_no_jitter
    assert per_id.finish == finish  # the same jobs, ids and finish times
    later = [
        (audio_id, detections.at[audio_id], per_id.detected[audio_id])
        for audio_id in finish
        if detections.at[audio_id] > per_id.detected[audio_id] + 1e-9
    ]
    assert later == []
    assert len(fake.requests) * 20 <= per_id.requests


async def test_worst_case_jobs_absent_from_the_list(
    fake: FakeSpeechAPI, spread_100_per_id: Baseline
) -> None:
    """Ids the list does not show (1,000 newer jobs above them): within 3% of per-id waiting."""
    finish, detections, _ = await _sweep(fake, Spread(n=100, seed=2), newer=1000)
    swept = len(fake.requests)
    assert swept <= 1.03 * spread_100_per_id.requests, (swept, spread_100_per_id.requests)
    assert len(lists(fake)) <= 4  # discovery gave up after a few pages without any of them
    assert max(detections.delays(finish)) <= 4.0 + 1e-9


async def test_jobs_pushed_down_by_new_jobs_are_still_swept(fake: FakeSpeechAPI) -> None:
    """Someone else creating a job every 0.5 s shifts the list; the sweeps follow their jobs."""
    finish = Spread(n=200, longest=40.0).add(fake)
    fake.reset_stats()

    async def others() -> None:
        while True:
            await _timing.current().sleep(0.5)
            fake.add_job(queued_for=0.0, generating_for=0.0)

    async with client(fake) as api, anyio.create_task_group() as tg:
        api.wait_engine.rng.seed(3)
        with fake.virtual_time():
            tg.start_soon(others)
            results = await api.wait_many(finish)
            tg.cancel_scope.cancel()
    assert all(isinstance(r, Speech) and r.is_final for r in results)
    assert len(fake.audio_ids) > 260  # 60+ jobs arrived above ours
    # Per-id waiting needs over 2,000 requests here; most jobs are still seen through pages.
    assert len(fake.requests) < 150
    assert len(gets(fake)) < 40


async def test_ten_thousand_jobs() -> None:
    """10,000 jobs in one wait_many all complete, with far fewer requests than jobs."""
    fake = FakeSpeechAPI(clock=FakeClock())
    finish = Spread(n=10_000, shortest=2.0, longest=10.0, failed_share=0.0).add(fake)
    async with client(fake) as api:
        with fake.virtual_time():
            results = await api.wait_many(list(finish), concurrency=16)
    assert len(results) == 10_000
    assert all(isinstance(r, Speech) and r.is_completed for r in results)
    assert len(fake.requests) < 2_000  # per-id waiting: about 50,000 (memory: benchmarks/)
