"""Batch generation at scale: capacity, requests and total time of ``generate_many`` (issue 14).

Everything runs in-process against the fake API on its virtual clock (``fake.virtual_time()``),
so a batch of 200 one-minute jobs takes seconds.  The fake enforces the account's job limit
(``max_jobs=4``: a create beyond it is answered 429, as upstream).

Scenarios, 200 items each, ``max_jobs=4``, every job 60 s (2 s queued, 58 s generating):

* **clean**: nothing goes wrong.
* **faults**: 5 % of creates dropped after the fake acted (the job exists, the answer is lost),
  5 % of job GETs answered 503, 10 % of list pages answered 503, 4 % of jobs FAILED (resubmitted
  once), and someone else's 60 s job holding one of the account's slots at the start.

Printed per scenario: the most jobs running at once on the fake (from its ledger), items lost,
prompts billed twice, requests by kind, and the total virtual time against the ideal
``ceil(200 / 4) * 60 s``.  With ``--capture`` it prints instead a text capture of the
``pixverse-speech generate`` progress display during a batch (as in ``docs/batch-generation.md``).

    python benchmarks/generation.py [--items 200] [--max-jobs 4] [--backend asyncio|trio]
    python benchmarks/generation.py --capture
"""

from __future__ import annotations

import argparse
import io
import logging
import math
import random
import re
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import anyio

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from pixverse_speech import AsyncSpeechAPI, GenerationFailedError, Speech
from pixverse_speech._generation import generate_many, prepare
from pixverse_speech.testing import (
    DEFAULT_VOICE_ID,
    FakeClock,
    FakeSpeechAPI,
    Fault,
)
from tests.generation._support import most_running  # the ledger count the tests assert on

CREATE = "/v2/pixverse/speech/create"
LIST = "/v2/pixverse/speech/"
JOB_SECONDS = 60.0


async def scenario(name: str, items: int, max_jobs: int, faults: bool) -> dict[str, Any]:
    fake = FakeSpeechAPI(
        clock=FakeClock(), max_jobs=max_jobs, queued_for=2.0, generating_for=JOB_SECONDS - 2.0
    )
    others = 0
    if faults:
        fake.add_job(prompt="someone else's job", queued_for=0, generating_for=JOB_SECONDS)
        others = 1
        fake.inject(Fault.drop(), method="POST", path=CREATE, probability=0.05)
        fake.inject(
            Fault.status(503), method="GET", path=re.compile(r"/speech/.+"), probability=0.05
        )
        fake.inject(Fault.status(503), method="GET", path=re.compile(r"/speech/$"), probability=0.1)
    texts = [f"Sentence {i} of the audiobook chapter." for i in range(items)]
    # 4 % of the jobs the fake admits end FAILED (the fake fails the next N creates it admits).
    unlucky = items // 25 if faults else 0

    async def on_created(index: int, audio_id: str) -> None:
        if index % 25 == 12 and unlucky:
            fake.fail_next(1)

    async with AsyncSpeechAPI(
        token=fake.token,
        base_url="http://fake/v2/",
        transport=fake.transport(),
        max_connections=64,
    ) as api:
        # Repeatable runs: seed the client's random draws (poll jitter, retry backoff).
        for owner in (api, getattr(api, "_sender", None)):
            for value in vars(owner or object()).values():
                if isinstance(value, random.Random):
                    value.seed(1)
        with fake.virtual_time() as clock:
            # api.generate_many(...), with the batch's own random draws seeded too.
            generation = prepare(
                api,
                texts,
                voice_id=DEFAULT_VOICE_ID,
                settings={},
                max_jobs=max_jobs,
                resubmit=1,
                timeout=None,
                on_update=None,
                on_created=on_created,
                rng=random.Random(5),
            )
            results = await generate_many(generation)
            elapsed = clock.now()
    requests = fake.requests
    kinds = Counter(
        "creates" if r.method == "POST" else "list pages" if r.path == LIST else "job GETs"
        for r in requests
    )
    # A prompt billed twice: more than one job of it that did not end FAILED.
    billed = Counter(
        fake.job(a)["prompt"]
        for a in fake.audio_ids
        if fake.job(a)["audio_status_name"] != "FAILED"
    )
    completed = sum(isinstance(r, Speech) and r.is_completed for r in results)
    failed_items = sum(isinstance(r, GenerationFailedError) for r in results)
    ideal = math.ceil(items / max_jobs) * JOB_SECONDS
    return {
        "scenario": name,
        "items": items,
        "completed": completed,
        "failed after resubmission": failed_items,
        "lost": items - len(results),
        "most running": most_running(fake),
        "429s": sum(1 for r in requests if r.status == 429),
        "creates": kinds["creates"],
        "job GETs": kinds["job GETs"],
        "list pages": kinds["list pages"],
        "requests": len(requests),
        "jobs billed": len(fake.audio_ids) - others,
        "FAILED jobs resubmitted": sum(
            1 for a in fake.audio_ids if fake.job(a)["audio_status_name"] == "FAILED"
        ),
        "prompts billed twice": sum(1 for n in billed.values() if n > 1),
        "faults injected": fake.faults_injected,
        "creates dropped after the fake acted": sum(
            1 for r in requests if r.method == "POST" and r.fault == "drop"
        ),
        "virtual seconds": round(elapsed),
        "ideal seconds": ideal,
        "over ideal": f"{elapsed / ideal - 1:+.1%}",
        # The ideal for the work actually done: FAILED tries and others' jobs take slots too.
        "ideal for the jobs run": (
            work := math.ceil((len(fake.audio_ids)) / max_jobs) * JOB_SECONDS
        ),
        "over that": f"{elapsed / work - 1:+.1%}",
    }


async def capture(width: int = 80) -> str:
    """Frames of the CLI's progress display during a 40-item batch, as a terminal shows them."""
    from rich.console import Console

    from pixverse_speech._cli._generate import GenerateProgress
    from pixverse_speech._cli._output import Output
    from pixverse_speech._generation import GenerationCompletions

    fake = FakeSpeechAPI(clock=FakeClock(), max_jobs=4, queued_for=2.0, generating_for=28.0)
    fake.fail_next(1)
    texts = [f"Product {i}: a short description read aloud." for i in range(40)]
    console = Console(file=io.StringIO(), width=width, record=True, color_system=None)
    frames: list[str] = []
    async with AsyncSpeechAPI(
        token=fake.token, base_url="http://fake/v2/", transport=fake.transport()
    ) as api:
        with fake.virtual_time() as clock:
            progress = GenerateProgress(
                len(texts),
                Output(json_lines=False),
                stream=io.StringIO(),
                clock=clock.now,
                slots=4,
            )
            generation = prepare(
                api,
                texts,
                voice_id=DEFAULT_VOICE_ID,
                settings={},
                max_jobs=4,
                resubmit=0,
                timeout=3600,
                on_update=None,
                on_created=lambda index, _: progress.job_started(index),
            )

            def frame() -> None:
                console.print(progress.render())
                frames.append(console.export_text())

            completions = GenerationCompletions(api, generation)
            progress.counts(running=generation.running, queued=generation.queued)
            async for index, result in completions:
                progress.job_ended(index)
                if isinstance(result, Speech) and result.is_completed:
                    progress.done += 1
                else:
                    progress.failed += 1
                progress.counts(running=generation.running, queued=generation.queued)
                if (progress.done + progress.failed) in (1, 10, 25, 40):
                    frame()
    return "\n".join(frames)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=200)
    parser.add_argument("--max-jobs", type=int, default=4)
    parser.add_argument("--backend", choices=("asyncio", "trio"), default="asyncio")
    parser.add_argument("--capture", action="store_true", help="print the progress capture")
    args = parser.parse_args()
    # The batch logs each retry, adoption and resubmission as a warning: not for this table.
    logging.getLogger("pixverse_speech").setLevel(logging.ERROR)
    if args.capture:
        print(anyio.run(capture, backend=args.backend), end="")
        return
    for name, faults in (("clean", False), ("faults", True)):
        figures = anyio.run(scenario, name, args.items, args.max_jobs, faults, backend=args.backend)
        print(f"## {name} ({args.backend})")
        for key, value in figures.items():
            print(f"  {key:>52}: {value}")


if __name__ == "__main__":
    main()
