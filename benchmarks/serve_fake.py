"""Serve the fake speech API on 127.0.0.1 in this process, for benchmarks run from another one.

    python benchmarks/serve_fake.py [--jobs 50] [--cpu 0] [--port 0]

Starts uvicorn (h11, one worker) with ``FakeSpeechAPI(token=TOKEN, clock=FakeClock())`` holding
``--jobs`` finished jobs of one account, pinned to CPU ``--cpu`` when the machine has more than
one.  Prints one JSON line (``base_url``, ``token``, ``email``, ``audio_ids``) once it accepts
connections, then serves until stdin closes or it is terminated.  The fake's request log is
cleared every second so that memory stays flat however many requests arrive.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import threading

from pixverse_speech.testing import FakeClock, FakeSpeechAPI

TOKEN = "user:1-benchmark-token-0123456789"
EMAIL = "bench@example.com"


def pin(cpu: int) -> bool:
    """Run this process on CPU ``cpu`` only; ``False`` where that is not possible or useful."""
    if not hasattr(os, "sched_setaffinity") or (os.cpu_count() or 1) < 2:
        return False
    os.sched_setaffinity(0, {cpu})
    return True


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=50)
    parser.add_argument("--cpu", type=int, default=0)
    parser.add_argument("--port", type=int, default=0)
    args = parser.parse_args(argv)
    pinned = pin(args.cpu)
    fake = FakeSpeechAPI(token=TOKEN, accounts=(EMAIL,), clock=FakeClock())
    ids = [fake.add_job(queued_for=0, generating_for=0) for _ in range(args.jobs)]
    stop = threading.Event()

    def forget_requests() -> None:
        while not stop.wait(1.0):
            fake.reset_stats()

    threading.Thread(target=forget_requests, daemon=True).start()
    with fake.serve(port=args.port) as base_url:
        ready = {
            "base_url": base_url,
            "token": TOKEN,
            "email": EMAIL,
            "audio_ids": ids,
            "pid": os.getpid(),
            "pinned_cpu": args.cpu if pinned else None,
        }
        print(json.dumps(ready), flush=True)
        sys.stdin.read()  # until the parent closes our stdin (or kills us)
    stop.set()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
