"""A worker process that only receives callbacks: ``python -m tests.webhooks.receiver_process``.

It serves a hub on 127.0.0.1 with uvicorn, on the same event loop as the hub (as an app would),
with ``--redis-url`` so that every callback it receives reaches the other processes.  It prints
``READY <public url>`` once it is subscribed and serving, runs until its stdin closes, then prints
one JSON line: ``{"arrivals": {audio_id: [monotonic seconds, ...]}}``, the moments its listener
heard each callback (``time.monotonic`` is one clock for every process of the machine).
"""

from __future__ import annotations

import argparse
import json
import sys
import time

import anyio
import uvicorn

from pixverse_speech.webhooks import WebhookHub

from ._support import bind_loopback


async def main(args: argparse.Namespace) -> None:
    sock, origin = bind_loopback()
    hub = WebhookHub(
        origin + "/hooks/speech",
        secret=args.secret or None,
        redis_url=args.redis_url,
        redis_channel=args.channel,
    )
    arrivals: dict[str, list[float]] = {}
    hub.add_listener(lambda audio_id: arrivals.setdefault(audio_id, []).append(time.monotonic()))
    config = uvicorn.Config(
        hub.app, lifespan="off", log_config=None, access_log=False, http="h11", ws="none"
    )
    server = uvicorn.Server(config)
    async with hub, anyio.create_task_group() as tg:
        tg.start_soon(server.serve, [sock])
        while not server.started:  # noqa: ASYNC110 - uvicorn offers no event for it
            await anyio.sleep(0.005)
        print("READY", hub.url, flush=True)
        await anyio.to_thread.run_sync(sys.stdin.read)  # until the parent closes our stdin
        server.should_exit = True
    print(json.dumps({"arrivals": arrivals}), flush=True)


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--redis-url", required=True)
    parser.add_argument("--channel", default="pixverse_speech:webhooks")
    parser.add_argument("--secret", default="")
    anyio.run(main, parser.parse_args())
