"""The fake speech API, calling back, in a process of its own: for ``benchmarks/webhooks.py``.

    python benchmarks/webhook_fake.py [--speed 20] [--seed 1]

Serves ``FakeSpeechAPI(clock=RealClock(speed=...))`` on 127.0.0.1 and prints one JSON line
(``base_url``, ``token``).  Then reads commands, one JSON object a line, and answers each with one:

- ``{"add": N, "reply_url": URL, "span": 60, "lead": 20}``: N jobs QUEUED for ``lead`` clock
  seconds, then ending at random within ``span`` more, each calling back ``reply_url``; answers
  ``{"ids": [...], "durations": [...]}`` (durations include the lead).
- ``{"stats": true}``: ``{"gets": {audio_id: n}, "lists": n, "posts": n, "callbacks": n}``
  (``lists``: list pages read).

It ends when stdin closes.  Its own process keeps its server and callback thread from competing
for the benchmark's GIL.
"""

from __future__ import annotations

import argparse
import json
import random
import sys

from pixverse_speech.testing import FakeSpeechAPI, RealClock

TOKEN = "user:1-benchmark-token-0123456789"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--speed", type=float, default=20.0)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    fake = FakeSpeechAPI(token=TOKEN, clock=RealClock(speed=args.speed), max_jobs=100_000)
    with fake.serve() as base_url:
        print(json.dumps({"base_url": base_url, "token": TOKEN}), flush=True)
        for line in sys.stdin:
            command = json.loads(line)
            if "add" in command:
                lead = command["lead"]
                spans = [rng.uniform(0, command["span"]) for _ in range(command["add"])]
                ids = [
                    fake.add_job(queued_for=lead, generating_for=d, reply_url=command["reply_url"])
                    for d in spans
                ]
                durations = [lead + d for d in spans]
                answer: dict[str, object] = {"ids": ids, "durations": durations}
            else:
                gets: dict[str, int] = {}
                for request in fake.requests:
                    if request.method == "GET" and not request.path.endswith("/speech/"):
                        audio_id = request.path.rsplit("/speech/", 1)[1]
                        gets[audio_id] = gets.get(audio_id, 0) + 1
                posts = sum(1 for r in fake.requests if r.method == "POST")
                lists = sum(
                    1 for r in fake.requests if r.method == "GET" and r.path.endswith("/speech/")
                )
                answer = {
                    "gets": gets,
                    "lists": lists,
                    "posts": posts,
                    "callbacks": len(fake.callbacks),
                }
            print(json.dumps(answer), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
