"""Cancellation at random points: get, iter_speech, wait_until_final and wait_many, each cancelled
by ``anyio.move_on_after`` at seeded random moments while requests are held in flight by delay
faults.  Each must return promptly, leave the client usable (a following get succeeds, even with a
pool of two connections that a leaked slot would block) and leave no task running.
"""

from __future__ import annotations

import random
import time
import zlib
from collections.abc import Awaitable, Callable
from contextlib import aclosing

import anyio
import anyio.lowlevel
import pytest
from reliability_support import live_tasks, open_fds, settled_fds, settled_tasks

from pixverse_speech import AsyncSpeechAPI
from pixverse_speech.testing import FakeSpeechAPI, Fault

pytestmark = pytest.mark.anyio

#: Cancellation points per operation and backend (in-process), and over the served socket.
POINTS = 30
SERVED_POINTS = 12
#: How long a delay fault holds a response, and the latest moment a cancellation comes (a
#: single get is over sooner than paging or waiting, so it is cancelled sooner).
HOLD = 0.02
LATEST = {"get": 0.03, "iter_speech": 0.08, "wait_until_final": 0.08, "wait_many": 0.08}
#: How long after its cancel scope's deadline an operation may take to return: loose, since
#: the machine may be busy, yet far below any poll interval or request timeout involved.
PROMPT = 0.5

Operation = Callable[[AsyncSpeechAPI, "Jobs"], Awaitable[object]]


class Jobs:
    """A fake with jobs that never finish during a test, plenty to page through, one finished."""

    def __init__(self, seed: int) -> None:
        self.fake = FakeSpeechAPI(seed=seed)
        self.done = self.fake.add_job(queued_for=0, generating_for=0)
        for _ in range(40):
            self.fake.add_job()
        self.pending = [self.fake.add_job(queued_for=3_600) for _ in range(6)]
        # Most requests are held back: most cancellations land with a request in flight.
        self.fake.inject(Fault.delay(HOLD), probability=0.7)


async def op_get(api: AsyncSpeechAPI, jobs: Jobs) -> object:
    return await api.get(jobs.pending[0])


async def op_iter_speech(api: AsyncSpeechAPI, jobs: Jobs) -> object:
    seen = []
    async with aclosing(api.iter_speech(page_size=5)) as speeches:
        async for speech in speeches:
            seen.append(speech)
            # A consumer that awaits: a cancellation may land between items too.
            await anyio.lowlevel.checkpoint()
    return seen


async def op_wait_until_final(api: AsyncSpeechAPI, jobs: Jobs) -> object:
    return await api.wait_until_final(jobs.pending[0], poll_interval=0.01, max_poll_interval=0.02)


async def op_wait_many(api: AsyncSpeechAPI, jobs: Jobs) -> object:
    return await api.wait_many(
        jobs.pending, concurrency=2, poll_interval=0.01, max_poll_interval=0.02
    )


OPERATIONS: dict[str, Operation] = {
    "get": op_get,
    "iter_speech": op_iter_speech,
    "wait_until_final": op_wait_until_final,
    "wait_many": op_wait_many,
}


async def cancel_repeatedly(
    api: AsyncSpeechAPI, jobs: Jobs, name: str, rng: random.Random, points: int
) -> int:
    """Run ``operation`` ``points`` times, each cancelled at a random moment; count cancellations.

    After each: it returned promptly, nothing it started is still running, and a get succeeds.
    """
    operation = OPERATIONS[name]
    baseline = live_tasks()
    cancelled = 0
    for point in range(points):
        delay = rng.uniform(0.0, LATEST[name])
        started = time.perf_counter()
        with anyio.move_on_after(delay) as scope:
            await operation(api, jobs)
        overrun = time.perf_counter() - started - delay
        cancelled += scope.cancelled_caught
        assert overrun < PROMPT, f"point {point}: returned {overrun:.3f}s after its cancellation"
        assert await settled_tasks(baseline) == baseline, f"point {point}: tasks left running"
        with anyio.fail_after(5):
            assert (await api.get(jobs.done)).is_completed, f"point {point}: client unusable"
    return cancelled


def seeded(*parts: str) -> random.Random:
    """A generator seeded from names, the same on every run (``hash`` of a str is not)."""
    return random.Random(zlib.crc32("/".join(parts).encode()))


@pytest.mark.parametrize("name", list(OPERATIONS))
async def test_cancelled_operation_returns_promptly_and_leaves_nothing(
    anyio_backend: str, name: str
) -> None:
    """An operation cancelled at random points returns promptly, client usable, no task left."""
    jobs = Jobs(seed=zlib.crc32(name.encode()))
    async with AsyncSpeechAPI(
        jobs.fake.token,
        base_url="http://fake/v2/",
        transport=jobs.fake.transport(),
        max_connections=2,
        timeout=5.0,
    ) as api:
        rng = seeded(anyio_backend, name)
        cancelled = await cancel_repeatedly(api, jobs, name, rng, POINTS)
    # Waits never finish here; a get or a paging sometimes does before its moment comes.
    assert cancelled >= (POINTS if name.startswith("wait") else POINTS // 10)


async def test_cancellations_over_a_socket_leave_the_pool_usable(
    anyio_backend: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Over uvicorn, cancelling every operation mid-request leaves the pool usable, nothing open."""
    for variable in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy"):
        monkeypatch.delenv(variable, raising=False)
    jobs = Jobs(seed=7)
    fds_before = open_fds()
    tasks_before = live_tasks()
    with jobs.fake.serve() as base_url:
        async with AsyncSpeechAPI(
            jobs.fake.token, base_url=base_url, max_connections=2, timeout=5.0
        ) as api:
            for name in OPERATIONS:
                rng = seeded(anyio_backend, "served", name)
                await cancel_repeatedly(api, jobs, name, rng, SERVED_POINTS)
            # Both pool slots at once: no slot was leaked by a cancelled request.
            async with anyio.create_task_group() as tg:
                for _ in range(2):
                    tg.start_soon(api.get, jobs.done)
    assert await settled_tasks(tasks_before) == tasks_before
    assert await settled_fds(fds_before) <= fds_before, "sockets left open"


async def test_leaving_iter_speech_without_aclosing_leaves_nothing_behind(
    anyio_backend: str,
) -> None:
    """Breaking out of (or cancelling) a plain async for over iter_speech leaves nothing behind."""
    # Nothing means no task, and no unfinished async generator for the event loop to finalize
    # later: trio warns (ResourceWarning) about each one garbage collected before it was exhausted.
    jobs = Jobs(seed=11)
    async with AsyncSpeechAPI(
        jobs.fake.token, base_url="http://fake/v2/", transport=jobs.fake.transport()
    ) as api:
        baseline = live_tasks()
        async for _ in api.iter_speech(page_size=5):
            break
        with anyio.move_on_after(HOLD / 2):
            async for _ in api.iter_speech(page_size=5):
                await anyio.sleep(HOLD)
        assert await settled_tasks(baseline) == baseline
        assert (await api.get(jobs.done)).is_completed
