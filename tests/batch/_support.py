"""Shared helpers of the batch-waiting tests: scenarios on the fake and the per-id yardstick."""

from __future__ import annotations

import random
import re
import threading
from collections.abc import Callable
from typing import Any

import attrs
import trio
import trio.testing

from pixverse_speech import AsyncSpeechAPI, Speech
from pixverse_speech._polling import PollSchedule
from pixverse_speech._waiting import WaitOptions
from pixverse_speech.testing import FakeSpeechAPI, Fault, RecordedRequest

#: What matches the list endpoint only (a GET of one job has the id after the slash).
LIST_PATH = re.compile(r"/speech/$")
LIST = "/v2/pixverse/speech/"


def client(fake: FakeSpeechAPI, **kwargs: Any) -> AsyncSpeechAPI:
    """A client of ``fake``, in-process."""
    kwargs.setdefault("max_connections", 64)
    return AsyncSpeechAPI(
        token=fake.token, base_url="http://fake/v2/", transport=fake.transport(), **kwargs
    )


def lists(fake: FakeSpeechAPI) -> list[RecordedRequest]:
    """The list requests the fake received."""
    return [r for r in fake.requests if r.path == LIST]


def gets(fake: FakeSpeechAPI, audio_id: str | None = None) -> list[RecordedRequest]:
    """The GETs of single jobs (of ``audio_id`` only, if given) the fake received."""
    return [
        r
        for r in fake.requests
        if r.path != LIST and (audio_id is None or r.path == LIST + audio_id)
    ]


def options(
    *,
    timeout: float | None = 600.0,
    jitter: float = 0.1,
    on_update: Callable[[Speech], object] | None = None,
    raise_on_failure: bool = False,
) -> WaitOptions:
    """Wait options with the default schedule (1 s growing to 4 s), its jitter adjustable."""
    return WaitOptions(
        timeout, PollSchedule(initial=1.0, maximum=4.0, jitter=jitter), on_update, raise_on_failure
    )


@attrs.define
class Spread:
    """``n`` jobs of one account created together, finishing at spread-out times."""

    n: int = 300
    seed: int = 1
    shortest: float = 5.0
    longest: float = 60.0
    failed_share: float = 0.05

    def add(self, fake: FakeSpeechAPI) -> dict[str, float]:
        """Add the jobs (oldest first); returns each id's finish time on the fake's clock."""
        rng = random.Random(self.seed)
        start = fake.clock.now()
        finish: dict[str, float] = {}
        for _ in range(self.n):
            duration = rng.uniform(self.shortest, self.longest)
            failed = rng.random() < self.failed_share
            audio_id = fake.add_job(
                queued_for=1.0,
                generating_for=duration - 1.0,
                outcome="failed" if failed else "completed",
            )
            finish[audio_id] = start + duration
        return finish


class Detections:
    """An ``on_update`` that notes when (on the fake's clock) each job was first seen final."""

    def __init__(self, fake: FakeSpeechAPI) -> None:
        self._fake = fake
        self.at: dict[str, float] = {}
        self.updates: list[tuple[str, str]] = []

    def __call__(self, speech: Speech) -> None:
        assert speech.audio_id is not None
        self.updates.append((speech.audio_id, speech.status_name))
        if speech.is_final and speech.audio_id not in self.at:
            self.at[speech.audio_id] = self._fake.clock.now()

    def delays(self, finish: dict[str, float]) -> list[float]:
        return [self.at[audio_id] - done for audio_id, done in finish.items()]


@attrs.frozen
class Baseline:
    """Per-id waiting measured on one scenario: requests sent and when each job was seen final."""

    requests: int
    detected: dict[str, float]
    finish: dict[str, float]

    @property
    def delays(self) -> list[float]:
        return [self.detected[audio_id] - done for audio_id, done in self.finish.items()]


class _TrioClock:
    """The fake's clock read from trio's (virtual) clock, from 0 at creation."""

    def __init__(self) -> None:
        self._origin = trio.current_time()

    def now(self) -> float:
        return trio.current_time() - self._origin


def per_id_baseline(spread: Spread, *, jitter: float, concurrency: int = 8) -> Baseline:
    """Run the old per-id ``wait_many`` (one task and GET per id) over ``spread``.

    It runs on trio's autojump clock, which moves only when every task waits, so that 300 tasks
    polling at once are each polled exactly on schedule (the fake's own virtual clock would move
    on while other tasks' requests are still in flight).  In a thread of its own, so that it can
    be called whatever event loop the caller runs.
    """
    out: list[Baseline] = []

    async def measure() -> None:
        fake = FakeSpeechAPI(clock=_TrioClock())
        finish = spread.add(fake)
        detections = Detections(fake)
        async with client(fake) as api:
            api.wait_engine.rng.seed(3)
            results = await api.wait_engine.wait_each(
                list(finish), concurrency, options(jitter=jitter, on_update=detections)
            )
        assert all(isinstance(r, Speech) and r.is_final for r in results)
        out.append(Baseline(len(fake.requests), detections.at, finish))

    def run() -> None:
        trio.run(measure, clock=trio.testing.MockClock(autojump_threshold=0))

    thread = threading.Thread(target=run, name="per-id baseline")
    thread.start()
    thread.join(120)
    assert out, "the per-id baseline did not finish"
    return out[0]


__all__ = [
    "LIST",
    "LIST_PATH",
    "Baseline",
    "Detections",
    "Fault",
    "Spread",
    "client",
    "gets",
    "lists",
    "options",
    "per_id_baseline",
]
