"""Bounds against a hostile server (issue 10): gzip-bomb peak RSS, and get(timeout=3) vs a trickle.

A hostile HTTP server runs in this process (a thread with its own asyncio loop, on 127.0.0.1); each
measurement runs the client in a fresh child process, which reports its own peak RSS
(``ru_maxrss``), so that neither the server nor an earlier measurement counts.

* ``bomb``: a body of 1 GiB + 1 MiB of zeros, gzipped (about 1 MB on the wire), sent with
  ``Content-Encoding: gzip``, first as an API response to ``get()`` (refused at
  ``max_response_bytes``, 16 MiB) and then to ``download()`` into a counting file object (refused
  at ``max_bytes``, 1 GiB, after inflating that much in 64 KiB steps).  ``baseline`` is a child that
  makes one small ``get()``: the interpreter, httpx, and the library.
* ``trickle``: ``get()`` with ``timeout=3, max_retries=0`` against a server sending the body one
  byte a second; the wall time until ``APITimeoutError`` (the requirement: under 3.5 s).

Both on httpx's own transport (asyncio and trio) and on the aiohttp one.

    python benchmarks/hostile.py
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import subprocess
import sys
import threading
import time
import zlib
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
TOKEN = "user:1-benchmark-hostile-token"
MIB = 1 << 20
BOMB_SIZE = 1024 * MIB + MIB
RECORD = json.dumps({"audio_id": "job-1", "audio_status": 1, "prompt": "x" * 600}).encode()


def gzip_bomb(size: int) -> bytes:
    compressor = zlib.compressobj(9, zlib.DEFLATED, zlib.MAX_WBITS | 16)
    block = bytes(MIB)
    parts = [compressor.compress(block) for _ in range(size // MIB)]
    parts.append(compressor.flush())
    return b"".join(parts)


class Server:
    """/bomb: the gzip bomb; /trickle: a record a byte a second; anything else: a record."""

    def __init__(self, bomb: bytes) -> None:
        self.bomb = bomb
        self.port = 0
        self._ready = threading.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._thread = threading.Thread(target=lambda: asyncio.run(self._main()), daemon=True)

    def __enter__(self) -> Server:
        self._thread.start()
        self._ready.wait(10)
        return self

    def __exit__(self, *exc: object) -> None:
        assert self._loop is not None
        assert self._stop is not None
        self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(10)

    async def _main(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        self.port = server.sockets[0].getsockname()[1]
        self._ready.set()
        async with server:
            await self._stop.wait()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                target = head.split(b" ", 2)[1].decode()
                if "bomb" in target:
                    writer.write(
                        b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                        b"Content-Encoding: gzip\r\nContent-Length: %d\r\n\r\n" % len(self.bomb)
                    )
                    writer.write(self.bomb)
                    await writer.drain()
                elif "trickle" in target:
                    writer.write(
                        b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                        b"Content-Length: %d\r\n\r\n" % len(RECORD)
                    )
                    for i in range(len(RECORD)):
                        writer.write(RECORD[i : i + 1])
                        await writer.drain()
                        await asyncio.sleep(1.0)
                else:
                    writer.write(
                        b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                        b"Content-Length: %d\r\n\r\n%s" % (len(RECORD), RECORD)
                    )
                    await writer.drain()
        except (ConnectionError, asyncio.IncompleteReadError, asyncio.CancelledError):
            pass
        finally:
            writer.close()


# -- the child: one measurement --------------------------------------------------------------------


async def child(scenario: str, port: int, transport: str | None) -> dict[str, object]:
    import anyio

    from pixverse_speech import AsyncSpeechAPI, SpeechError

    base = f"http://127.0.0.1:{port}/v2/"
    outcome = "ok"
    written = 0

    class Counter:
        def write(self, data: bytes) -> int:
            nonlocal written
            written += len(data)
            return len(data)

    timeout = 3 if scenario == "trickle" else 60
    started = time.monotonic()
    async with AsyncSpeechAPI(
        TOKEN, base_url=base, transport=transport, timeout=timeout, max_retries=0
    ) as api:
        try:
            if scenario == "baseline":
                await api.get("job-1")
            elif scenario == "api":
                await api.get("bomb")
            elif scenario == "download":
                await api.download(f"http://127.0.0.1:{port}/media/bomb.mp3", Counter())
            elif scenario == "trickle":
                with anyio.fail_after(30):
                    await api.get("trickle")
        except SpeechError as exc:
            outcome = f"{type(exc).__name__}: {str(exc)[:110]}"
    elapsed = time.monotonic() - started
    return {
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "seconds": elapsed,
        "written": written,
        "outcome": outcome,
    }


def run_child(scenario: str, port: int, transport: str | None, backend: str) -> dict[str, object]:
    args = [sys.executable, __file__, "--child", scenario, str(port), transport or "-", backend]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run(args, capture_output=True, text=True, timeout=300, env=env, check=False)
    if done.returncode:
        raise RuntimeError(done.stderr)
    result: dict[str, object] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--child", nargs=4, metavar=("SCENARIO", "PORT", "TRANSPORT", "BACKEND"))
    options = parser.parse_args()
    if options.child:
        import anyio

        scenario, port, transport, backend = options.child
        result = anyio.run(
            child, scenario, int(port), None if transport == "-" else transport, backend=backend
        )
        print(json.dumps(result))
        return

    started = time.monotonic()
    bomb = gzip_bomb(BOMB_SIZE)
    print(
        f"gzip bomb: {BOMB_SIZE / MIB:,.0f} MiB inflated, {len(bomb) / MIB:.2f} MiB on the wire "
        f"(built in {time.monotonic() - started:.1f}s)\n"
    )
    rows = [
        ("baseline", None, "asyncio"),
        ("api", None, "asyncio"),
        ("download", None, "asyncio"),
        ("baseline", "aiohttp", "asyncio"),
        ("api", "aiohttp", "asyncio"),
        ("download", "aiohttp", "asyncio"),
        ("trickle", None, "asyncio"),
        ("trickle", None, "trio"),
        ("trickle", "aiohttp", "asyncio"),
    ]
    print("| scenario | transport | backend | peak RSS | time | bytes inflated out | outcome |")
    print("|---|---|---|---|---|---|---|")
    with Server(bomb) as server:
        for scenario, transport, backend in rows:
            r = run_child(scenario, server.port, transport, backend)
            print(
                f"| {scenario} | {transport or 'httpx'} | {backend} | {r['peak_rss_mb']:.1f} MB "
                f"| {r['seconds']:.2f} s | {r['written']:,} | {r['outcome']} |"
            )


if __name__ == "__main__":
    main()
