"""Batch waiting: requests per job and detection delay, list sweeps vs per-id (issue 5, part 1).

Everything runs in-process against the fake API; nothing waits for real:

* **sweeps**: ``wait_many`` as shipped, on the fake's ``FakeClock`` in virtual time.
* **per-id**: the previous ``wait_many`` (one task and one GET per job per poll, kept as
  ``AsyncSpeechAPI.wait_engine.wait_each``) with the same poll schedule.  It runs on trio's
  autojump clock, which moves only when every task waits: the fake's own virtual clock would move
  on while some of 300 concurrent requests are still in flight and so under-count per-id polls.
  The sweeps are measured on that clock too, side by side.

Scenarios (one account, jobs created together, finishing uniformly between 5 s and 120 s, 5 %
FAILED): *spread*, the jobs at the top of the list; *worst case*, 1,000 newer jobs above them, so
that the list never shows them; *busy account*, someone else creating a job every 0.5 s meanwhile.
Detection delay = the virtual time a job's result was observed - the time the fake finished it.

Then the peak RSS of 10,000 concurrent waits through ``wait_many`` (one process, the in-process
fake in virtual time, measured with ``resource.getrusage().ru_maxrss`` in a child process).

    python benchmarks/batch_requests.py [--jobs 300] [--seed 1] [--wait-count 10000]
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
from collections.abc import Callable
from dataclasses import dataclass

import anyio
import trio
import trio.testing

from pixverse_speech import AsyncSpeechAPI, Speech, _timing
from pixverse_speech._polling import PollSchedule
from pixverse_speech._waiting import WaitOptions
from pixverse_speech.testing import FakeClock, FakeSpeechAPI

LIST = "/v2/pixverse/speech/"


@dataclass
class Scenario:
    name: str
    jobs: int
    seed: int
    newer: int = 0  # completed jobs created after ours: they push ours down the list
    arrivals: float = 0.0  # another job is created every this many seconds (0: none)
    shortest: float = 5.0
    longest: float = 120.0
    failed_share: float = 0.05

    def add(self, fake: FakeSpeechAPI) -> dict[str, float]:
        rng = random.Random(self.seed)
        start = fake.clock.now()
        finish: dict[str, float] = {}
        for _ in range(self.jobs):
            duration = rng.uniform(self.shortest, self.longest)
            failed = rng.random() < self.failed_share
            audio_id = fake.add_job(
                queued_for=1.0,
                generating_for=duration - 1.0,
                outcome="failed" if failed else "completed",
            )
            finish[audio_id] = start + duration
        for _ in range(self.newer):
            fake.add_job(queued_for=0.0, generating_for=0.0)
        return finish


@dataclass
class Outcome:
    requests: int
    pages: int
    gets: int
    delays: list[float]
    lost: int
    seconds: float


def _options(on_update: Callable[[Speech], object]) -> WaitOptions:
    return WaitOptions(600.0, PollSchedule(initial=1.0, maximum=4.0), on_update, False)


def _client(fake: FakeSpeechAPI) -> AsyncSpeechAPI:
    return AsyncSpeechAPI(
        token=fake.token, base_url="http://fake/v2/", transport=fake.transport(), max_connections=64
    )


async def _measure(
    fake: FakeSpeechAPI, scenario: Scenario, engine: str, now: Callable[[], float]
) -> Outcome:
    finish = scenario.add(fake)
    fake.reset_stats()
    seen: dict[str, float] = {}

    def on_update(speech: Speech) -> None:
        if speech.is_final and speech.audio_id is not None:
            seen.setdefault(speech.audio_id, now())

    async def others() -> None:
        while True:  # someone else using the account: new jobs push ours down the list
            await _timing.current().sleep(scenario.arrivals)
            fake.add_job(queued_for=0.0, generating_for=0.0)

    started = time.perf_counter()
    async with _client(fake) as api, anyio.create_task_group() as tg:
        api.wait_engine.rng.seed(scenario.seed)
        if scenario.arrivals:
            tg.start_soon(others)
        engine_ = api.wait_engine
        run = engine_.wait_many if engine == "sweeps" else engine_.wait_each
        results = await run(list(finish), 8, _options(on_update))
        tg.cancel_scope.cancel()
    seconds = time.perf_counter() - started
    lost = sum(1 for r in results if not (isinstance(r, Speech) and r.is_final))
    pages = sum(1 for r in fake.requests if r.path == LIST)
    return Outcome(
        requests=len(fake.requests),
        pages=pages,
        gets=len(fake.requests) - pages,
        delays=[seen[a] - done for a, done in finish.items() if a in seen],
        lost=lost,
        seconds=seconds,
    )


def run_sweeps(scenario: Scenario) -> Outcome:
    async def main() -> Outcome:
        fake = FakeSpeechAPI(clock=FakeClock())
        with fake.virtual_time():
            return await _measure(fake, scenario, "sweeps", fake.clock.now)

    return anyio.run(main)


class _TrioClock:
    def __init__(self) -> None:
        self._origin = trio.current_time()

    def now(self) -> float:
        return trio.current_time() - self._origin


def run_on_trio_clock(scenario: Scenario, engine: str) -> Outcome:
    out: list[Outcome] = []

    async def main() -> None:
        clock = _TrioClock()
        out.append(await _measure(FakeSpeechAPI(clock=clock), scenario, engine, clock.now))

    # A thread of its own: trio.run with a mock clock, independent of any other loop.
    thread = threading.Thread(
        target=lambda: trio.run(main, clock=trio.testing.MockClock(autojump_threshold=0))
    )
    thread.start()
    thread.join()
    return out[0]


def _row(name: str, scenario: Scenario, o: Outcome, per_id: Outcome | None) -> str:
    delays = sorted(o.delays)
    p95 = delays[int(0.95 * (len(delays) - 1))] if delays else float("nan")
    ratio = f"1/{per_id.requests / o.requests:.1f}" if per_id is not None else "1"
    return (
        f"| {name} | {o.requests} | {o.pages} | {o.gets} | {o.requests / scenario.jobs:.2f} | "
        f"{ratio} | {statistics.mean(delays):.2f} | {p95:.2f} | {max(delays):.2f} | {o.lost} | "
        f"{o.seconds:.1f} |"
    )


def request_tables(jobs: int, seed: int) -> list[str]:
    scenarios = [
        Scenario(f"spread: {jobs} pending jobs", jobs, seed),
        Scenario(f"worst case: {jobs} jobs under 1,000 newer", jobs, seed, newer=1000),
        Scenario(f"busy account: {jobs} jobs, a new job every 0.5 s", jobs, seed, arrivals=0.5),
    ]
    lines = [
        "## Requests per job and detection delay: list sweeps vs per-id",
        "",
        "Poll schedule of both: first look at once, pauses from 1 s growing by 1.5x to 4 s, 10 % "
        "jitter; concurrency 8.  Jobs finish uniformly between 5 s and 120 s, 5 % FAILED.  "
        "Delay = observed final - finished (virtual seconds).  *per-id* and *sweeps, trio "
        "clock* run on trio's autojump clock (exact: time moves only when every task waits); "
        "*sweeps* on the fake's FakeClock, where time also moves while requests are in flight "
        "if another task sleeps (the busy account's job creator), which adds to its delays.",
        "",
        "| scenario / engine | requests | list pages | GETs | requests/job | vs per-id "
        "| mean delay | p95 delay | max delay | lost | wall s |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for scenario in scenarios:
        per_id = run_on_trio_clock(scenario, "per-id")
        sweeps = run_sweeps(scenario)
        sweeps_trio = run_on_trio_clock(scenario, "sweeps")
        lines.append(_row(f"{scenario.name}: per-id", scenario, per_id, None))
        lines.append(_row(f"{scenario.name}: sweeps", scenario, sweeps, per_id))
        lines.append(_row(f"{scenario.name}: sweeps, trio clock", scenario, sweeps_trio, per_id))
        print(f"  {scenario.name}: done", file=sys.stderr, flush=True)
    return lines


# -- memory of 10,000 waits, in a child process --------------------------------------------------


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def rss_child(count: int) -> None:
    """Run ``count`` concurrent waits through wait_many; print the peak RSS figures as JSON."""
    before_setup = _rss_mb()

    async def main() -> dict[str, float]:
        fake = FakeSpeechAPI(clock=FakeClock())
        rng = random.Random(1)
        ids = [
            fake.add_job(queued_for=1.0, generating_for=rng.uniform(1.0, 30.0))
            for _ in range(count)
        ]
        ready = _rss_mb()
        started = time.perf_counter()
        async with _client(fake) as api:
            with fake.virtual_time():
                results = await api.wait_many(ids, concurrency=16)
        assert all(isinstance(r, Speech) and r.is_completed for r in results)
        return {
            "ready": ready,
            "requests": len(fake.requests),
            "seconds": time.perf_counter() - started,
        }

    figures = anyio.run(main)
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
        f"## Memory: {count:,} concurrent waits through wait_many (one process)",
        "",
        "Peak RSS of a fresh process (`ru_maxrss`): the interpreter and imports, then the "
        f"in-process fake holding {count:,} jobs, then the whole wait (jobs finishing between "
        "2 s and 31 s, virtual time, concurrency 16).  The fake's own memory is included.",
        "",
        "| stage | peak RSS (MB) |",
        "|---|---:|",
        f"| interpreter + imports | {f['imports']:.1f} |",
        f"| + the fake with {count:,} jobs | {f['ready']:.1f} |",
        f"| + wait_many over all of them (total) | {f['peak']:.1f} |",
        f"| the wait itself (peak - before) | {f['peak'] - f['ready']:.1f} |",
        "",
        f"{int(f['requests']):,} requests in all ({f['requests'] / count:.2f} per job), "
        f"{f['seconds']:.1f} s of wall time.",
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=300, help="jobs per scenario (300)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--wait-count", type=int, default=10_000, help="waits for the RSS run")
    parser.add_argument("--rss-child", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.rss_child is not None:
        rss_child(args.rss_child)
        return 0
    lines = [
        "# Batch waiting (benchmarks/batch_requests.py)",
        "",
        f"Command: `python benchmarks/batch_requests.py --jobs {args.jobs} --seed {args.seed} "
        f"--wait-count {args.wait_count}`",
        "",
    ]
    lines += request_tables(args.jobs, args.seed)
    lines.append("")
    lines += rss_table(args.wait_count)
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
