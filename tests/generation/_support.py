"""Helpers of the batch-generation tests: a client of the fake and readings of its ledger."""

from __future__ import annotations

from collections import Counter
from typing import Any

from pixverse_speech import AsyncSpeechAPI
from pixverse_speech.testing import FakeSpeechAPI, RecordedRequest

CREATE = "/v2/pixverse/speech/create"
LIST = "/v2/pixverse/speech/"


def client(fake: FakeSpeechAPI, **kwargs: Any) -> AsyncSpeechAPI:
    """A client of ``fake``, in-process."""
    kwargs.setdefault("max_connections", 64)
    return AsyncSpeechAPI(
        token=fake.token, base_url="http://fake/v2/", transport=fake.transport(), **kwargs
    )


def creates(fake: FakeSpeechAPI) -> list[RecordedRequest]:
    """Every POST speech/create the fake received (refused ones included)."""
    return [r for r in fake.requests if r.method == "POST" and r.path == CREATE]


def lists(fake: FakeSpeechAPI) -> list[RecordedRequest]:
    """The list requests the fake received."""
    return [r for r in fake.requests if r.method == "GET" and r.path == LIST]


def job_gets(fake: FakeSpeechAPI) -> list[RecordedRequest]:
    """The GETs of single jobs the fake received."""
    return [
        r for r in fake.requests if r.method == "GET" and r.path.startswith(LIST) and r.path != LIST
    ]


def billed_prompts(fake: FakeSpeechAPI) -> Counter[str]:
    """How many jobs the fake's ledger holds per prompt: every job is billed."""
    return Counter(fake.job(audio_id)["prompt"] for audio_id in fake.audio_ids)


def most_running(fake: FakeSpeechAPI) -> int:
    """The most jobs unfinished at once on the fake, from its own ledger of jobs.

    Each job's life is fixed when the fake makes it (``created`` to the end of GENERATING), so
    the overlap of those spans is what the fake counted against the account's limit.
    """
    jobs = fake._state._jobs.values()
    events = sorted(
        [(job.created, 1) for job in jobs]
        + [(job.created + job.queued_for + job.generating_for, -1) for job in jobs]
    )
    running = most = 0
    for _, step in events:  # an end sorts before a start at the same instant
        running += step
        most = max(most, running)
    return most
