"""``pixverse-speech demo``: the real client against the built-in fake API, in-process.

No token, no network: the fake answers through an httpx transport.  It shows what the library does
on a realistic day: jobs started, one failing, polls hit by a 503 and a 429, paged listing,
concurrent waiting with live progress, and a closing tally of requests and retries.
"""

from __future__ import annotations

import argparse
import re
import time
from typing import Any

from .._client import AsyncSpeechAPI
from .._models import Speech
from ..testing import FakeSpeechAPI, Fault
from ._args import Parents, UsageError, add_command, positive_float
from ._commands import report_batch
from ._output import Output
from ._progress import Progress

__all__ = ["demo", "register", "run_demo"]


def register(sub: Any, parents: Parents) -> None:
    """``demo``: it takes the output options only, since it talks to no API."""
    p = add_command(
        sub,
        "demo",
        demo,
        help="run the client against the built-in fake API (no token, no network)",
        parents=[parents.output],
    )
    p.add_argument(
        "--speed",
        type=positive_float,
        default=1.0,
        help="how fast the demo's jobs finish: 2 is twice as fast",
    )


async def demo(args: argparse.Namespace, out: Output) -> int:
    """``demo``: the real client against the built-in fake API."""
    # Given before the subcommand, these parse; the demo would silently ignore them.
    ignored = [
        flag
        for flag, name in (
            ("--token", "token"),
            ("--base-url", "base_url"),
            ("--request-timeout", "request_timeout"),
        )
        if getattr(args, name, None) is not None
    ]
    if ignored:
        raise UsageError(f"demo talks to a built-in fake API and takes no {', '.join(ignored)}")
    return await run_demo(out, speed=args.speed)


DEMO_TOKEN = "user:1-demo-token-not-secret"
DEMO_EMAIL = "demo@example.com"

#: (prompt, seconds queued, seconds generating, outcome) of the jobs the demo starts.
JOBS: tuple[tuple[str, float, float, str], ...] = (
    ("Use API dot net.", 0.5, 1.5, "completed"),
    ("May the Force be with you.", 1.0, 2.0, "completed"),
    ("Hello from the fake API.", 0.5, 3.0, "completed"),
    ("This one fails upstream.", 0.5, 2.5, "failed"),
    ("The longest clip of the batch.", 1.0, 4.0, "completed"),
)


def _recovered(fake: FakeSpeechAPI) -> int:
    """How many injected faults a later successful request to the same path made good."""
    requests = fake.requests
    recovered = 0
    for index, request in enumerate(requests):
        if request.fault is None:
            continue
        if any(
            later.path == request.path and later.fault is None and (later.status or 0) < 400
            for later in requests[index + 1 :]
        ):
            recovered += 1
    return recovered


async def run_demo(out: Output, *, speed: float = 1.0) -> int:
    """Run the demo; returns 0 when every job ended as scripted."""
    started = time.monotonic()
    fake = FakeSpeechAPI(token=DEMO_TOKEN, accounts=(DEMO_EMAIL,), max_jobs=8)
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
        out.message("2. Listing them, two per page, newest first")
        listed = [speech async for speech in api.iter_speech(page_size=2)]
        out.speeches(listed)

        # Batch waits poll through the list endpoint: make two of those polls fail.
        list_path = re.compile(r"/speech/$")
        fake.inject(Fault.status(503), method="GET", path=list_path, times=1)
        fake.inject(
            Fault.status(429, headers={"Retry-After": "1"}),
            method="GET",
            path=list_path,
            times=1,
        )
        out.message(
            "3. Waiting for all of them at once (the fake answers one poll with a 503 "
            "and one with a 429)"
        )
        with Progress(ids, out, stream=out.errors) as progress:
            results = await api.wait_many(
                ids,
                concurrency=4,
                timeout=60.0 / speed,
                poll_interval=0.5 / speed,
                max_poll_interval=1.0 / speed,
                on_update=progress.update,
            )

    report_batch(ids, results, out, started, title="4. Results")
    recovered = _recovered(fake)
    if out.json_lines:
        out.json(
            {
                "summary": {
                    "jobs": len(ids),
                    "requests": len(fake.requests),
                    "faults_injected": fake.faults_injected,
                    "faults_recovered": recovered,
                    "seconds": round(time.monotonic() - started, 2),
                }
            }
        )
    else:
        out.message(
            f"{len(fake.requests)} requests to the fake for {len(ids)} jobs; "
            f"{fake.faults_injected} faults injected, {recovered} recovered by a later retry"
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
