"""The poll schedule on virtual time: polls per job and detection delay (issue 5, part 2).

Compares the default schedule of ``wait_until_final`` with fixed 1 s polling (what most SDKs do)
and fixed 15 s polling (the vendor's sample scripts), for jobs of 2 s to 120 s.  Nothing waits for
real: the measurement takes two ways, side by side:

* **simulated**: the schedule's pauses (``PollSchedule.pauses`` with a seeded RNG) walked against a
  completion time; many samples per duration.
* **through the client**: ``wait_until_final`` against the fake API on a ``FakeClock`` in virtual
  time (the fixed schedules as the loop other SDKs run: ``get``, then sleep the interval), counting
  the requests the fake received and reading the clock when the wait returned.  With the same seed
  it must give the same numbers as the simulation, which is what makes the simulation trustworthy.

The model: a wait starts when its job is created (the first poll is immediate, as ``generate()``
does) and the job becomes final at a time drawn uniformly within +-20 % of the nominal duration,
so that completions fall at every phase of a fixed schedule's grid instead of exactly on it.
Detection delay = the time the wait saw the job final - the time it became final.

    python benchmarks/poll_schedule.py [--samples 2000] [--client-samples 40]
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
from collections.abc import Callable, Iterator

import anyio

from pixverse_speech import AsyncSpeechAPI, _timing
from pixverse_speech._polling import PollSchedule
from pixverse_speech.testing import FakeClock, FakeSpeechAPI

DURATIONS = (2, 5, 10, 20, 30, 60, 90, 120)
SPREAD = 0.2  # completion times uniform within +-20 % of the nominal duration

Pauses = Callable[[random.Random], Iterator[float]]


def fixed(interval: float) -> PollSchedule:
    """A flat schedule without jitter: sleep ``interval`` between polls."""
    return PollSchedule(initial=interval, maximum=interval, jitter=0.0)


SCHEDULES: dict[str, PollSchedule] = {
    "default": PollSchedule(),
    "1 -> 10 s (before)": PollSchedule(maximum=10.0),
    "fixed 1 s": fixed(1.0),
    "fixed 15 s": fixed(15.0),
}


def completion_times(duration: float, samples: int, seed: int) -> list[float]:
    """When each sampled job of nominal ``duration`` becomes final."""
    rng = random.Random(seed * 7919 + int(duration * 1000))
    return [duration * (1.0 + rng.uniform(-SPREAD, SPREAD)) for _ in range(samples)]


def simulate(schedule: PollSchedule, final_at: float, rng: random.Random) -> tuple[int, float]:
    """(polls, detection delay) of one wait that starts at 0 for a job final at ``final_at``."""
    pauses = schedule.pauses(rng)
    now, polls = 0.0, 1
    while now < final_at:
        now += next(pauses)
        polls += 1
    return polls, now - final_at


def simulate_all(samples: int, seed: int = 1) -> dict[str, dict[int, tuple[float, float]]]:
    """Mean (polls, delay) per schedule and duration."""
    results: dict[str, dict[int, tuple[float, float]]] = {}
    for name, schedule in SCHEDULES.items():
        rows: dict[int, tuple[float, float]] = {}
        for duration in DURATIONS:
            polls: list[int] = []
            delays: list[float] = []
            for i, final_at in enumerate(completion_times(duration, samples, seed)):
                n, delay = simulate(schedule, final_at, random.Random(seed * 1_000_003 + i))
                polls.append(n)
                delays.append(delay)
            rows[duration] = (statistics.fmean(polls), statistics.fmean(delays))
        results[name] = rows
    return results


async def _client_waits(samples: int, seed: int) -> dict[str, dict[int, tuple[float, float]]]:
    clock = FakeClock()
    fake = FakeSpeechAPI(clock=clock, max_jobs=1_000_000)
    results: dict[str, dict[int, tuple[float, float]]] = {name: {} for name in SCHEDULES}
    async with AsyncSpeechAPI(
        token=fake.token, base_url="http://fake/v2/", transport=fake.transport()
    ) as api:
        with fake.virtual_time():
            for duration in DURATIONS:
                finals = completion_times(duration, samples, seed)
                for name, schedule in SCHEDULES.items():
                    polls: list[int] = []
                    delays: list[float] = []
                    for i, final_at in enumerate(finals):
                        audio_id = fake.add_job(
                            queued_for=0.1 * final_at, generating_for=0.9 * final_at
                        )
                        started = clock.now()
                        fake.reset_stats()
                        if name == "default":
                            # The client's own RNG, seeded as the simulation's: same pauses.
                            api.wait_engine.rng = random.Random(seed * 1_000_003 + i)
                            await api.wait_until_final(audio_id)
                        elif schedule.jitter:
                            api.wait_engine.rng = random.Random(seed * 1_000_003 + i)
                            await api.wait_until_final(
                                audio_id,
                                poll_interval=schedule.initial,
                                max_poll_interval=schedule.maximum,
                            )
                        else:
                            # What other SDKs run: get, then sleep the interval.
                            while not (await api.get(audio_id)).is_final:
                                await _timing.current().sleep(schedule.initial)
                        polls.append(len(fake.requests))
                        delays.append(clock.now() - (started + final_at))
                    results[name][duration] = (statistics.fmean(polls), statistics.fmean(delays))
    return results


def client_waits(samples: int, seed: int = 1) -> dict[str, dict[int, tuple[float, float]]]:
    """Mean (polls, delay) per schedule and duration, measured through the client on the fake."""
    return anyio.run(_client_waits, samples, seed)


def mean_delay(rows: dict[int, tuple[float, float]]) -> float:
    """The mean detection delay over every duration, each weighted equally."""
    return statistics.fmean(delay for _, delay in rows.values())


def steady_rate(schedule: PollSchedule) -> float:
    """Requests per minute per job once the pause has reached its maximum (mean jitter)."""
    return 60.0 / (schedule.maximum * (1.0 - schedule.jitter / 2))


def table(title: str, results: dict[str, dict[int, tuple[float, float]]]) -> str:
    names = list(results)
    out = [f"### {title}", ""]
    out.append(
        "| job duration (s) | "
        + " | ".join(f"polls: {n}" for n in names)
        + " | "
        + " | ".join(f"delay (s): {n}" for n in names)
        + " |"
    )
    out.append("|---:|" + "---:|" * (2 * len(names)))
    for duration in DURATIONS:
        polls = " | ".join(f"{results[n][duration][0]:.1f}" for n in names)
        delays = " | ".join(f"{results[n][duration][1]:.2f}" for n in names)
        out.append(f"| {duration} | {polls} | {delays} |")
    total = " | ".join(f"{sum(p for p, _ in results[n].values()):.1f}" for n in names)
    means = " | ".join(f"**{mean_delay(results[n]):.2f}**" for n in names)
    out.append(f"| all (sum of polls / mean delay) | {total} | {means} |")
    return "\n".join(out)


def verdict(results: dict[str, dict[int, tuple[float, float]]]) -> list[str]:
    default, one, fifteen = results["default"], results["fixed 1 s"], results["fixed 15 s"]
    fewer = [d for d in DURATIONS if d > 5 and default[d][0] < one[d][0]]
    ratio = mean_delay(default) / mean_delay(fifteen)
    worst = max((default[d][0] / one[d][0], d) for d in DURATIONS if d > 5)
    return [
        f"- fewer polls than fixed 1 s on every duration above 5 s: "
        f"{'MET' if len(fewer) == sum(d > 5 for d in DURATIONS) else 'MISSED'} "
        f"(at most {worst[0]:.0%} of fixed 1 s's polls, at {worst[1]} s)",
        f"- mean detection delay <= 1/4 of fixed 15 s: {'MET' if ratio <= 0.25 else 'MISSED'} "
        f"({mean_delay(default):.2f} s vs {mean_delay(fifteen):.2f} s: {ratio:.3f})",
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=2000, help="simulated waits per cell")
    parser.add_argument(
        "--client-samples", type=int, default=40, help="waits through the client per cell"
    )
    args = parser.parse_args(argv)
    schedule = SCHEDULES["default"]
    print("## Poll schedule (virtual time)")
    print()
    print(
        f"Default schedule: first poll at once, then pauses from {schedule.initial:g} s growing "
        f"x{schedule.multiplier:g} up to {schedule.maximum:g} s, each shortened by up to "
        f"{schedule.jitter:.0%}; at most 60 requests/min per job at first, "
        f"{steady_rate(schedule):.1f}/min once at the maximum "
        f"(fixed 1 s: 60/min, fixed 15 s: 4/min). Completion times uniform within "
        f"+-{SPREAD:.0%} of each duration."
    )
    print()
    started = time.perf_counter()
    simulated = simulate_all(args.samples)
    print(table(f"Simulated ({args.samples} waits per cell)", simulated))
    print()
    print(*verdict(simulated), sep="\n")
    print()
    if args.client_samples > 0:
        measured = client_waits(args.client_samples)
        print(
            table(
                f"Through wait_until_final on the fake's virtual clock "
                f"({args.client_samples} waits per cell)",
                measured,
            )
        )
        print()
        print(*verdict(measured), sep="\n")
        print()
    print(f"({time.perf_counter() - started:.1f} s)", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
