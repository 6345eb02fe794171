"""Coalesced waits: many concurrent ``wait_until_final`` calls vs a per-id poll loop (issue 9).

Scenario: ``--jobs`` jobs of one account, created together, finishing uniformly between 5 s and
120 s (5 % FAILED).  Three ways to wait for all of them, each on a fresh in-process fake:

* **per-id loop**: the yardstick, written here on bare httpx (not with the library): one task per
  job, ``GET speech/{id}``, then sleep the library's default schedule (first look at once, pauses
  from 1 s growing by 1.5x to 4 s, 10 % jitter) until the job is final.
* **wait_until_final x N**: one ``wait_until_final`` per job, all started together in one task
  group on one client: the wait engine coalesces them through list sweeps.
* **wait_many**: one ``wait_many`` over all the ids.

Everything runs on trio's autojump clock (``MockClock(autojump_threshold=0)``), which moves only
when every task waits: a 120 s scenario takes a few seconds and every poll falls exactly on
schedule.  Detection delay = when the waiter got the final record - when the fake finished the
job (virtual seconds).  CPU = the process time the run used (client and in-process fake).

Then the peak RSS of 10,000 concurrent ``wait_until_final`` calls, in a child process
(``resource.getrusage().ru_maxrss``), on the same clock.

    python benchmarks/coalesced_waits.py [--jobs 300] [--seed 1] [--wait-count 10000]
"""

from __future__ import annotations

import argparse
import json
import random
import resource
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import httpx
import trio
import trio.testing

from pixverse_speech import AsyncSpeechAPI, Speech
from pixverse_speech._polling import PollSchedule
from pixverse_speech.testing import FakeSpeechAPI

LIST = "/v2/pixverse/speech/"
BASE_URL = "http://fake/v2/"
SCHEDULE = PollSchedule()  # the library's default: 1 s growing by 1.5x to 4 s, 10 % jitter


class _TrioClock:
    """The fake's clock: trio's (mock) clock, from 0 at creation."""

    def __init__(self) -> None:
        self._origin = trio.current_time()

    def now(self) -> float:
        return trio.current_time() - self._origin


def add_jobs(fake: FakeSpeechAPI, jobs: int, seed: int) -> dict[str, float]:
    """``jobs`` jobs finishing between 5 s and 120 s; each id's finish time on the fake's clock."""
    rng = random.Random(seed)
    start = fake.clock.now()
    finish: dict[str, float] = {}
    for _ in range(jobs):
        duration = rng.uniform(5.0, 120.0)
        failed = rng.random() < 0.05
        audio_id = fake.add_job(
            queued_for=1.0,
            generating_for=duration - 1.0,
            outcome="failed" if failed else "completed",
        )
        finish[audio_id] = start + duration
    return finish


@dataclass
class Outcome:
    requests: int
    pages: int
    delays: list[float]
    lost: int
    cpu: float


Waiter = Callable[[FakeSpeechAPI, list[str], Callable[[str], None], int], Awaitable[int]]


async def per_id_loop(
    fake: FakeSpeechAPI, ids: list[str], seen: Callable[[str], None], seed: int
) -> int:
    """The yardstick on bare httpx: a GET-and-sleep loop per job; returns the jobs it ended."""
    rng = random.Random(seed)
    ended = 0

    async def one(http: httpx.AsyncClient, audio_id: str) -> None:
        nonlocal ended
        pauses = SCHEDULE.pauses(rng)
        while True:
            response = await http.get(f"pixverse/speech/{audio_id}")
            response.raise_for_status()
            if response.json().get("audio_status_final"):
                seen(audio_id)
                ended += 1
                return
            await trio.sleep(next(pauses))

    limits = httpx.Limits(max_connections=64, max_keepalive_connections=64)
    async with (
        httpx.AsyncClient(
            transport=fake.transport(),
            base_url=BASE_URL,
            headers={"Authorization": f"Bearer {fake.token}"},
            limits=limits,
        ) as http,
        trio.open_nursery() as nursery,
    ):
        for audio_id in ids:
            nursery.start_soon(one, http, audio_id)
    return ended


def _client(fake: FakeSpeechAPI) -> AsyncSpeechAPI:
    return AsyncSpeechAPI(
        token=fake.token, base_url=BASE_URL, transport=fake.transport(), max_connections=64
    )


async def coalesced(
    fake: FakeSpeechAPI, ids: list[str], seen: Callable[[str], None], seed: int
) -> int:
    """One ``wait_until_final`` per job, all at once on one client."""
    ended = 0

    async def one(api: AsyncSpeechAPI, audio_id: str) -> None:
        nonlocal ended
        speech = await api.wait_until_final(audio_id, raise_on_failure=False)
        seen(audio_id)
        if (speech.is_final and speech.path is not None) or speech.is_failed:
            ended += 1  # the full record (path, file_size...), as get() returns it

    async with _client(fake) as api, trio.open_nursery() as nursery:
        api.wait_engine.rng.seed(seed)
        for audio_id in ids:
            nursery.start_soon(one, api, audio_id)
    return ended


async def batch(fake: FakeSpeechAPI, ids: list[str], seen: Callable[[str], None], seed: int) -> int:
    """One ``wait_many`` over every job."""

    def on_update(speech: Speech) -> None:
        if speech.is_final and speech.audio_id is not None:
            seen(speech.audio_id)

    async with _client(fake) as api:
        api.wait_engine.rng.seed(seed)
        results = await api.wait_many(ids, on_update=on_update)
    return sum(1 for r in results if isinstance(r, Speech) and r.is_final)


def measure(waiter: Waiter, jobs: int, seed: int) -> Outcome:
    """Run ``waiter`` over a fresh scenario on trio's autojump clock, in a thread of its own."""
    out: list[Outcome] = []

    async def main() -> None:
        clock = _TrioClock()
        fake = FakeSpeechAPI(clock=clock)
        finish = add_jobs(fake, jobs, seed)
        detected: dict[str, float] = {}

        def seen(audio_id: str) -> None:
            detected.setdefault(audio_id, clock.now())

        cpu = time.process_time()
        ended = await waiter(fake, list(finish), seen, seed)
        cpu = time.process_time() - cpu
        out.append(
            Outcome(
                requests=len(fake.requests),
                pages=sum(1 for r in fake.requests if r.path == LIST),
                delays=[detected[a] - done for a, done in finish.items() if a in detected],
                lost=len(finish) - ended,
                cpu=cpu,
            )
        )

    thread = threading.Thread(
        target=lambda: trio.run(main, clock=trio.testing.MockClock(autojump_threshold=0))
    )
    thread.start()
    thread.join(600)
    return out[0]


def _row(name: str, o: Outcome, base: Outcome) -> str:
    delays = sorted(o.delays)
    p95 = delays[int(0.95 * (len(delays) - 1))]
    ratio = base.requests / o.requests
    return (
        f"| {name} | {o.requests:,} | {o.pages:,} | 1/{ratio:.1f} | {statistics.mean(delays):.2f} "
        f"| {p95:.2f} | {o.lost} | {o.cpu:.2f} |"
    )


def request_table(jobs: int, seed: int) -> list[str]:
    base = measure(per_id_loop, jobs, seed)
    waits = measure(coalesced, jobs, seed)
    many = measure(batch, jobs, seed)
    return [
        f"## {jobs} concurrent waits of one account (jobs finishing between 5 s and 120 s)",
        "",
        "| way to wait | requests | of them list pages | vs per-id loop | mean delay s "
        "| p95 delay s | lost | CPU s |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
        _row("per-id poll loop (bare httpx)", base, base),
        _row(f"{jobs} x wait_until_final (coalesced)", waits, base),
        _row("wait_many", many, base),
    ]


# -- memory of 10,000 waits, in a child process --------------------------------------------------


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def rss_child(count: int) -> None:
    """Run ``count`` concurrent wait_until_final calls; print the peak RSS figures as JSON."""
    before_setup = _rss_mb()
    figures: dict[str, float] = {}

    async def main() -> None:
        clock = _TrioClock()
        fake = FakeSpeechAPI(clock=clock)
        rng = random.Random(1)
        ids = [
            fake.add_job(queued_for=1.0, generating_for=rng.uniform(1.0, 30.0))
            for _ in range(count)
        ]
        figures["ready"] = _rss_mb()
        started = time.perf_counter()
        done = 0

        async def one(api: AsyncSpeechAPI, audio_id: str) -> None:
            nonlocal done
            if (await api.wait_until_final(audio_id)).is_completed:
                done += 1

        async with _client(fake) as api, trio.open_nursery() as nursery:
            for audio_id in ids:
                nursery.start_soon(one, api, audio_id)
        assert done == count
        figures["requests"] = len(fake.requests)
        figures["seconds"] = time.perf_counter() - started

    trio.run(main, clock=trio.testing.MockClock(autojump_threshold=0))
    figures |= {"imports": before_setup, "peak": _rss_mb()}
    print(json.dumps(figures))


def rss_table(count: int) -> list[str]:
    result = subprocess.run(
        [sys.executable, __file__, "--rss-child", str(count)],
        capture_output=True,
        text=True,
        check=True,
        timeout=600,
    )
    f = json.loads(result.stdout.strip().splitlines()[-1])
    return [
        f"## Memory: {count:,} concurrent wait_until_final calls (one process)",
        "",
        "| stage | peak RSS (MB) |",
        "|---|---:|",
        f"| interpreter + imports | {f['imports']:.1f} |",
        f"| + the in-process fake with {count:,} jobs | {f['ready']:.1f} |",
        f"| + {count:,} concurrent wait_until_final (total) | {f['peak']:.1f} |",
        "",
        f"{int(f['requests']):,} requests in all ({f['requests'] / count:.2f} per job), "
        f"{f['seconds']:.1f} s of wall time (jobs finishing between 2 s and 31 s, virtual time).",
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=300, help="jobs of the request table (300)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--wait-count", type=int, default=10_000, help="waits of the RSS run")
    parser.add_argument("--rss-child", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.rss_child is not None:
        rss_child(args.rss_child)
        return 0
    lines = [
        "# Coalesced waits (benchmarks/coalesced_waits.py)",
        "",
        f"Command: `python benchmarks/coalesced_waits.py --jobs {args.jobs} --seed {args.seed} "
        f"--wait-count {args.wait_count}`",
        "",
        *request_table(args.jobs, args.seed),
        "",
        *rss_table(args.wait_count),
    ]
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
