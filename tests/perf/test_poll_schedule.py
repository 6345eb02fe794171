"""The default poll schedule against fixed 1 s and fixed 15 s polling, on virtual time.

No real time passes: the schedule's pauses are walked against simulated completion times (counts
and virtual delays, not wall-clock timings, so asserting them is deterministic), and a few waits
through the client on the fake's virtual clock show the simulation is what the client does.
``benchmarks/poll_schedule.py`` prints the same numbers as a table.
"""

from __future__ import annotations

import argparse
import inspect
import random
import statistics

import pytest

from pixverse_speech import AsyncSpeechAPI
from pixverse_speech._cli._main import build_parser
from pixverse_speech._polling import PollSchedule
from pixverse_speech.testing import FakeClock, FakeSpeechAPI

DURATIONS = (2, 5, 10, 20, 30, 60, 90, 120)
SAMPLES = 400
FIXED_1 = PollSchedule(initial=1.0, maximum=1.0, jitter=0.0)
FIXED_15 = PollSchedule(initial=15.0, maximum=15.0, jitter=0.0)


def completion_times(duration: float, samples: int) -> list[float]:
    """Jobs of a nominal duration end uniformly within +-20 % of it, at every phase of a grid."""
    rng = random.Random(duration)
    return [duration * rng.uniform(0.8, 1.2) for _ in range(samples)]


def simulate(schedule: PollSchedule, final_at: float, seed: int) -> tuple[int, float]:
    """(polls, detection delay) of a wait that starts with the job, first poll at once."""
    pauses = schedule.pauses(random.Random(seed))
    now, polls = 0.0, 1
    while now < final_at:
        now += next(pauses)
        polls += 1
    return polls, now - final_at


def measure(schedule: PollSchedule) -> dict[int, tuple[float, float]]:
    """Mean (polls, delay) per nominal duration."""
    rows = {}
    for duration in DURATIONS:
        runs = [
            simulate(schedule, t, seed)
            for seed, t in enumerate(completion_times(duration, SAMPLES))
        ]
        rows[duration] = (
            statistics.fmean(p for p, _ in runs),
            statistics.fmean(d for _, d in runs),
        )
    return rows


def test_default_polls_less_than_fixed_one_second_on_every_job_above_five_seconds() -> None:
    """Above 5 s the default schedule needs fewer polls per job than fixed 1 s polling."""
    default, fixed_1 = measure(PollSchedule()), measure(FIXED_1)
    for duration in DURATIONS:
        if duration > 5:
            assert default[duration][0] < fixed_1[duration][0], duration


def test_default_mean_delay_is_at_most_a_quarter_of_fixed_fifteen_seconds() -> None:
    """The mean detection delay over 2-120 s jobs is at most 1/4 of fixed 15 s polling's."""
    default, fixed_15 = measure(PollSchedule()), measure(FIXED_15)
    mean_default = statistics.fmean(d for _, d in default.values())
    mean_fixed_15 = statistics.fmean(d for _, d in fixed_15.values())
    assert mean_default <= mean_fixed_15 / 4, (mean_default, mean_fixed_15)


def test_default_never_polls_more_than_once_a_second() -> None:
    """No pause of the default schedule is under 0.9 s, and none is over its 4 s maximum."""
    pauses = PollSchedule().pauses(random.Random(0))
    taken = [next(pauses) for _ in range(1000)]
    assert min(taken) >= 0.9
    assert max(taken) <= 4.0


@pytest.mark.anyio
async def test_waits_through_the_client_match_the_simulation() -> None:
    """wait_until_final on the fake's virtual clock polls exactly as the simulation says."""
    clock = FakeClock()
    fake = FakeSpeechAPI(clock=clock, max_jobs=1000)
    async with AsyncSpeechAPI(
        token=fake.token, base_url="http://fake/v2/", transport=fake.transport()
    ) as api:
        with fake.virtual_time():
            for duration in DURATIONS:
                for seed, final_at in enumerate(completion_times(duration, 3)):
                    audio_id = fake.add_job(queued_for=0.0, generating_for=final_at)
                    started = clock.now()
                    fake.reset_stats()
                    api.wait_engine.rng = random.Random(seed)  # the simulation's seed
                    await api.wait_until_final(audio_id)
                    polls, delay = simulate(PollSchedule(), final_at, seed)
                    assert len(fake.requests) == polls
                    assert clock.now() - (started + final_at) == pytest.approx(delay, abs=1e-6)


def test_every_wait_and_the_cli_default_to_the_measured_schedule() -> None:
    """Every wait method and the CLI `wait` command default to PollSchedule's schedule."""
    schedule = PollSchedule()
    for name in ("wait_until_final", "wait_many", "as_completed", "generate"):
        parameters = inspect.signature(getattr(AsyncSpeechAPI, name)).parameters
        assert parameters["poll_interval"].default == schedule.initial, name
        assert parameters["max_poll_interval"].default == schedule.maximum, name
    subcommands = next(
        a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction)
    )
    wait = subcommands.choices["wait"].parse_args(["some-id"])
    assert (wait.poll_interval, wait.max_poll_interval) == (schedule.initial, schedule.maximum)
