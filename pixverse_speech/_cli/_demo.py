"""``pixverse-speech demo``: the real client against the built-in fake API, in-process.

No token, no network: the fake answers through an httpx transport.  It shows what the library does
on a realistic day: jobs started, one failing, one poll hit by a 503 and a 429, paged listing,
concurrent waiting with live progress, and a closing tally of requests and retries.
"""

from __future__ import annotations

import logging
import time

from .._client import AsyncSpeechAPI
from .._models import Speech
from ..testing import FakeSpeechAPI, Fault
from ._output import Output
from ._progress import Progress, Summary

__all__ = ["run_demo"]

DEMO_TOKEN = "user:1-demo-token-not-secret"
DEMO_EMAIL = "demo@example.com"

#: (prompt, seconds queued, seconds generating, outcome) of the jobs the demo starts.
JOBS: tuple[tuple[str, float, float, str], ...] = (
    ("Use API dot net.", 0.5, 1.5, "completed"),
    ("May the Force be with you.", 1.0, 2.0, "completed"),
    ("This one will hit a 503 and a 429 while we poll it.", 0.5, 3.0, "completed"),
    ("This one fails upstream.", 0.5, 2.5, "failed"),
    ("The longest clip of the batch.", 1.0, 4.0, "completed"),
)


class _RetryCounter(logging.Handler):
    """Counts the retries and transient poll failures the client logs."""

    def __init__(self) -> None:
        super().__init__(level=logging.INFO)
        self.retries = 0
        self.transient_polls = 0

    def emit(self, record: logging.LogRecord) -> None:
        message = record.getMessage()
        if record.levelno == logging.WARNING and "; retry " in message:
            self.retries += 1
        elif "waiting on" in message:
            self.transient_polls += 1


async def run_demo(out: Output, *, speed: float = 1.0) -> int:
    """Run the demo; returns 0 when every job ended as scripted."""
    started = time.monotonic()
    fake = FakeSpeechAPI(token=DEMO_TOKEN, accounts=(DEMO_EMAIL,), max_jobs=8)
    logger = logging.getLogger("pixverse_speech")
    counter = _RetryCounter()
    logger.addHandler(counter)
    previous_level = logger.level
    if logger.getEffectiveLevel() > logging.INFO:
        logger.setLevel(logging.INFO)
    try:
        async with AsyncSpeechAPI(
            DEMO_TOKEN,
            email=DEMO_EMAIL,
            base_url="http://fake.invalid" + fake.api_prefix,
            transport=fake.transport(),
        ) as api:
            out.message(f"1. Starting {len(JOBS)} speech jobs on the fake API")
            ids = [
                fake.add_job(
                    prompt=prompt,
                    queued_for=queued / speed,
                    generating_for=generating / speed,
                    outcome="failed" if outcome == "failed" else "completed",
                    fail_code="50001" if outcome == "failed" else None,
                    fail_reason="upstream generation error (transient)"
                    if outcome == "failed"
                    else None,
                )
                for prompt, queued, generating, outcome in JOBS
            ]
            flaky = ids[2]
            fake.inject(Fault.status(503), method="GET", path=flaky, times=1)
            fake.inject(
                Fault.status(429, headers={"Retry-After": "1"}), method="GET", path=flaky, times=1
            )

            out.message("2. Listing them, two per page, newest first")
            listed = [speech async for speech in api.iter_speech(page_size=2)]
            out.speeches(listed)

            out.message("3. Waiting for all of them at once")
            with Progress(ids, out, stream=out.errors) as progress:
                results = await api.wait_many(
                    ids,
                    concurrency=4,
                    timeout=60.0 / speed,
                    poll_interval=0.5 / speed,
                    max_poll_interval=1.0 / speed,
                    on_update=progress.update,
                )
    finally:
        logger.removeHandler(counter)
        logger.setLevel(previous_level)

    seconds = time.monotonic() - started
    if out.json_lines:
        from .._converter import to_wire
        from ._output import error_record

        for audio_id, result in zip(ids, results, strict=True):
            out.json(
                to_wire(result) if isinstance(result, Speech) else error_record(result, audio_id)
            )
        out.json(
            {
                "summary": {
                    "jobs": len(ids),
                    "requests": len(fake.requests),
                    "faults_injected": fake.faults_injected,
                    "retries": counter.retries,
                    "transient_poll_failures": counter.transient_polls,
                    "seconds": round(seconds, 2),
                }
            }
        )
    else:
        rows = []
        for audio_id, result in zip(ids, results, strict=True):
            if isinstance(result, Speech):
                detail = result.url if result.is_completed else result.fail_reason
                rows.append([audio_id, result.status_name, detail or "-"])
            else:
                rows.append([audio_id, type(result).__name__, str(result)])
        out.table(["AUDIO ID", "RESULT", "DETAIL"], rows, title="4. Results")
        out.message(str(Summary(results, seconds)))
        out.message(
            f"{len(fake.requests)} requests to the fake; {fake.faults_injected} faults injected, "
            f"{counter.retries} retried automatically, "
            f"{counter.transient_polls} polls waited through"
        )
    expected = [outcome for *_, outcome in JOBS]
    got = [
        "completed"
        if isinstance(r, Speech) and r.is_completed
        else "failed"
        if isinstance(r, Speech) and r.is_failed
        else "error"
        for r in results
    ]
    return 0 if got == expected else 1
