"""A fault soak over real sockets: a thousand waits per backend against the fake served by uvicorn
while it answers a seeded mix of 503s, 429s with Retry-After, dropped connections, responses held
back past the client's request timeout and malformed bodies.

Every job must end in its final record (or, for an id that does not exist, a typed error); nothing
may be lost, no exception of another type may escape, and afterwards no task, socket or file
descriptor may be left open.  The tally is printed and shown in the run's summary.
"""

from __future__ import annotations

import random
import time
from collections import Counter
from collections.abc import Callable
from typing import Literal

import anyio
import pytest
from reliability_support import live_tasks, open_fds, settled_fds, settled_tasks

from pixverse_speech import (
    AsyncSpeechAPI,
    NotFoundError,
    Speech,
    SpeechError,
    SpeechFailedError,
)
from pixverse_speech.testing import FakeSpeechAPI, Fault, fast_waits

pytestmark = pytest.mark.anyio

#: Jobs per backend.  Sized to finish in about 10 s per backend on a 2-core machine (the client,
#: the server and the fault schedule all share one process).
JOBS = 1_000
#: Of those, waited for with wait_until_final, all at once (the client's 32 connections bound
#: the requests in flight); the rest in one wait_many batch, which looks through list pages.
SINGLE_WAITS = 400
#: Ids that do not exist: their waits must end in NotFoundError, at once.
MISSING = 10
SEED = 20_260_623
#: The client's per-request timeout, and the delay fault's hold, well past it.
REQUEST_TIMEOUT = 0.2
DELAY = 0.5
#: Every client pause (poll intervals, retry backoff, Retry-After) is scaled by this, and the
#: poll intervals are short as well: waits poll every 0.05-0.2 s, as under real 1-4 s intervals.
PAUSE_SCALE = 0.25
POLL = {"poll_interval": 0.2, "max_poll_interval": 0.8}

Expected = Literal["completed", "failed", "missing"]


def build_fake() -> tuple[FakeSpeechAPI, dict[str, Expected]]:
    """The fake with its jobs (finishing over a few seconds, one in eight FAILED) and faults."""
    rng = random.Random(SEED)
    fake = FakeSpeechAPI(seed=SEED, max_jobs=JOBS)
    expected: dict[str, Expected] = {}
    for _ in range(JOBS - MISSING):
        outcome: Literal["completed", "failed"] = "failed" if rng.random() < 0.125 else "completed"
        audio_id = fake.add_job(
            queued_for=rng.uniform(0.0, 1.0),
            generating_for=rng.uniform(0.5, 4.0),
            outcome=outcome,
        )
        expected[audio_id] = outcome
    for number in range(MISSING):
        expected[f"user:1-pixverse:fake@example.com-speech:{9_000_000 + number}"] = "missing"
    # Probabilities are per request, tried in this order (the first that fires wins).
    on_jobs = "/pixverse/speech/"
    fake.inject(Fault.status(503), path=on_jobs, probability=0.05)
    fake.inject(Fault.status(429, headers={"Retry-After": "0.05"}), path=on_jobs, probability=0.03)
    fake.inject(Fault.status(429, headers={"Retry-After": "0"}), path=on_jobs, probability=0.02)
    fake.inject(Fault.drop(), path=on_jobs, probability=0.04)
    fake.inject(Fault.delay(DELAY), path=on_jobs, probability=0.01)
    fake.inject(Fault.malformed(), path=on_jobs, probability=0.04)
    return fake, expected


def fault_label(status: int | None, fault: str | None) -> str | None:
    if fault == "status":
        return str(status)
    return fault


def judge(expected: Expected, result: object) -> str:
    """``final``, ``typed`` (the error a missing id must get) or ``lost``; raises on a bad type."""
    assert isinstance(result, (Speech, SpeechError)), f"unexpected result: {result!r}"
    if expected == "missing":
        return "typed" if isinstance(result, NotFoundError) else "lost"
    if isinstance(result, SpeechFailedError):
        result = result.speech
    if isinstance(result, Speech):
        done = result.is_completed if expected == "completed" else result.is_failed
        return "final" if done else "lost"
    return "lost"


async def test_fault_soak_loses_no_job(
    anyio_backend: str,
    monkeypatch: pytest.MonkeyPatch,
    report_tally: Callable[[str, str], None],
) -> None:
    """Under a seeded mix of faults over real sockets, every wait ends final or typed; none lost."""
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy"):
        monkeypatch.delenv(name, raising=False)
    fake, expected = build_fake()
    ids = list(expected)
    random.Random(SEED).shuffle(ids)
    batch, singles = ids[SINGLE_WAITS:], ids[:SINGLE_WAITS]
    results: dict[str, object] = {}
    fds_before = open_fds()
    tasks_before = live_tasks()
    started = time.perf_counter()

    with fake.serve() as base_url, fast_waits(scale=PAUSE_SCALE):
        async with AsyncSpeechAPI(
            fake.token, base_url=base_url, timeout=REQUEST_TIMEOUT, max_connections=32
        ) as api:

            async def wait_batch() -> None:
                outcomes = await api.wait_many(batch, concurrency=24, timeout=60.0, **POLL)
                assert len(outcomes) == len(batch)
                results.update(zip(batch, outcomes, strict=True))

            async def wait_one(audio_id: str) -> None:
                try:
                    results[audio_id] = await api.wait_until_final(audio_id, timeout=60.0, **POLL)
                except SpeechError as exc:
                    results[audio_id] = exc

            async with anyio.create_task_group() as tg:
                tg.start_soon(wait_batch)
                for audio_id in singles:
                    tg.start_soon(wait_one, audio_id)
        requests = fake.requests
    elapsed = time.perf_counter() - started

    verdicts = Counter(judge(expected[audio_id], results[audio_id]) for audio_id in ids)
    faults = Counter(
        label for label in (fault_label(r.status, r.fault) for r in requests) if label is not None
    )
    faulted_jobs = {r.path.rsplit("/", 1)[-1] for r in requests if r.fault is not None}
    recovered = sum(
        1
        for audio_id in ids
        if audio_id in faulted_jobs and judge(expected[audio_id], results[audio_id]) != "lost"
    )
    lost = verdicts["lost"]
    kinds = " ".join(
        f"{kind}={faults[kind]}" for kind in ("503", "429", "drop", "delay", "malformed")
    )
    report_tally(
        f"soak_tally_{anyio_backend}",
        f"fault soak [{anyio_backend}]: jobs={len(ids)} requests={len(requests)} "
        f"faults={sum(faults.values())} ({kinds}) final={verdicts['final']} "
        f"typed_errors={verdicts['typed']} recovered={recovered} lost={lost} in {elapsed:.1f}s",
    )

    assert lost == 0, [
        (audio_id, results[audio_id])
        for audio_id in ids
        if judge(expected[audio_id], results[audio_id]) == "lost"
    ][:5]
    assert verdicts["typed"] == MISSING
    assert fake.faults_injected == sum(faults.values())
    for kind in ("503", "429", "drop", "delay", "malformed"):
        assert faults[kind] > 0, f"no {kind} fault was injected: the soak did not test it"
    assert await settled_tasks(tasks_before) == tasks_before, "tasks left running"
    assert await settled_fds(fds_before) <= fds_before, "sockets or files left open"


async def test_wait_many_pauses_follow_fast_waits_scale() -> None:
    """Under fast_waits(scale=0.05) wait_many's 2 s poll pauses shrink to 0.1 s, as waits' do."""
    # Tests of user code (and this soak) rely on it: unscaled pauses would run at full length.
    fake = FakeSpeechAPI()
    ids = [fake.add_job(queued_for=0.0, generating_for=0.3) for _ in range(3)]
    async with AsyncSpeechAPI(
        fake.token, base_url="http://fake/v2/", transport=fake.transport()
    ) as api:
        with fast_waits(scale=0.05):
            started = time.perf_counter()
            results = await api.wait_many(ids, poll_interval=2.0, max_poll_interval=2.0)
            elapsed = time.perf_counter() - started
    assert all(isinstance(result, Speech) and result.is_completed for result in results)
    # Jobs final after 0.3 s, polled every 0.1 s: about 0.4 s, never the unscaled 2 s.
    assert elapsed < 1.0, f"wait_many took {elapsed:.2f}s: its pauses were not scaled"
