"""The fake's clocks and the switches for how the client waits: fast_waits and virtual_time."""

from __future__ import annotations

from typing import Any

import anyio
import pytest

from pixverse_speech import _timing
from pixverse_speech.testing import (
    FakeClock,
    FakeSpeechAPI,
    RealClock,
    fast_waits,
    reset_timing,
    set_sleep_scale,
    virtual_time,
)

pytestmark = pytest.mark.anyio


def test_fake_clock_moves_only_forward() -> None:
    """FakeClock moves by advance/set/advance_to and refuses to go backwards."""
    clock = FakeClock(10)
    assert clock.advance(2.5) == 12.5
    clock.set(20)
    assert clock.advance_to(15) == 20
    assert clock.advance_to(25) == 25
    with pytest.raises(ValueError, match="go back"):
        clock.set(1)
    with pytest.raises(ValueError, match="advance"):
        clock.advance(-1)
    assert clock.now() == 25


def test_real_clock_is_monotonic_wall_time() -> None:
    """RealClock reads seconds since it was made, and a fake without clock uses one."""
    clock = RealClock()
    assert 0 <= clock.now() < 5
    assert isinstance(FakeSpeechAPI().clock, RealClock)


async def test_fast_waits_scales_the_client_sleep() -> None:
    """fast_waits() puts a scaled Timing in force for the block and restores the previous one."""
    before = _timing.current()
    with fast_waits() as timing:
        assert _timing.current() is timing
        with anyio.fail_after(1):
            await _timing.current().sleep(3600)
    assert _timing.current() is before
    with fast_waits(0.01):
        started = anyio.current_time()
        await _timing.current().sleep(5)
        assert 0.04 <= anyio.current_time() - started < 1


async def test_set_sleep_scale_until_reset() -> None:
    """set_sleep_scale() installs scaled waits until reset_timing() puts real time back."""
    before = _timing.current()
    set_sleep_scale(0)
    try:
        assert _timing.current() is not before
        with anyio.fail_after(1):
            await _timing.current().sleep(3600)
    finally:
        reset_timing()
    assert _timing.current() == _timing.Timing()


async def test_virtual_time_runs_waits_on_the_fake_clock(
    fake: FakeSpeechAPI, clock: FakeClock
) -> None:
    """In virtual_time() the client's now() is the fake clock and sleep() advances it at once."""
    audio_id = fake.add_job()
    with fake.virtual_time():
        timing = _timing.current()
        assert timing.now() == 0.0
        with anyio.fail_after(1):
            await timing.sleep(30)
        assert timing.now() == clock.now() == 30.0
        await timing.sleep(0)
        await timing.sleep(-5)
        assert clock.now() == 30.0
    assert _timing.current().now is anyio.current_time
    assert fake.job(audio_id)["audio_status_name"] == "COMPLETED"


async def test_concurrent_virtual_sleepers_do_not_over_advance(clock: FakeClock) -> None:
    """Sleepers started together wake in order and leave the clock at the latest wake time."""
    woke: list[tuple[str, float]] = []

    async def sleeper(name: str, seconds: float) -> None:
        await _timing.current().sleep(seconds)
        woke.append((name, clock.now()))

    with virtual_time(clock), anyio.fail_after(2):
        async with anyio.create_task_group() as tg:
            tg.start_soon(sleeper, "ten", 10)
            tg.start_soon(sleeper, "five", 5)
            tg.start_soon(sleeper, "seven", 7)
    assert woke == [("five", 5.0), ("seven", 7.0), ("ten", 10.0)]
    assert clock.now() == 10.0


async def test_polling_loop_finishes_instantly_in_virtual_time(
    inproc: Any, fake: FakeSpeechAPI, clock: FakeClock
) -> None:
    """A client-style poll loop with 10 s pauses sees the job complete without real waiting."""
    audio_id = fake.add_job(queued_for=20, generating_for=40)
    polls = 0
    with fake.virtual_time(), anyio.fail_after(2):
        timing = _timing.current()
        deadline = timing.now() + 300
        async with inproc() as client:
            while timing.now() < deadline:
                polls += 1
                record = (await client.get(f"pixverse/speech/{audio_id}")).json()
                if record["audio_status_final"]:
                    break
                await timing.sleep(10)
    assert record["audio_status_name"] == "COMPLETED"
    assert (polls, clock.now()) == (7, 60.0)


def test_virtual_time_needs_a_fake_clock() -> None:
    """virtual_time() on a fake with a real clock is a TypeError, and nothing is installed."""
    before = _timing.current()
    with pytest.raises(TypeError), FakeSpeechAPI().virtual_time():
        pass
    assert _timing.current() is before
