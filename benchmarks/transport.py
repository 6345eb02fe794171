"""Calls per second and client CPU per call, ``get`` and ``list``, side by side (issue 5 part 3).

The fake API runs in its own process (``serve_fake.py``, uvicorn + h11) pinned to CPU 0; this
client process is pinned to CPU 1.  For 1, 10, 100 and 1,000 calls in flight, each client makes a
bounded number of calls to ``GET speech/{id}`` (one ~0.7 KB record) and ``GET speech/?limit=50`` (a
50-record page), reading and JSON-decoding every body.  Each cell is the median of ``--repeats``
runs; the clients take turns within each repetition, so ratios come from the same conditions.

Clients, all on asyncio:

* ``httpx default``: ``httpx.AsyncClient()`` with its default limits (100 connections, 5 s pool
  timeout), calls launched as they come: what a user gets without thinking about limits.
* ``httpx pool+sem``: 20 connections and a semaphore of 20 in front (queue in our code).
* ``client (httpx)``: ``AsyncSpeechAPI()`` on its default transport (``max_connections=20``).
* ``httpx/aiohttp+sem``: httpx over the aiohttp transport of ``transport="aiohttp"``, semaphore 20.
* ``client (aiohttp)``: ``AsyncSpeechAPI(transport="aiohttp")``.
* ``raw aiohttp``: ``aiohttp.ClientSession`` with 20 connections: the ceiling for Python here.

``client`` rows return decoded, validated ``Speech``/``SpeechPage`` objects; the bare rows stop at
``response.json()``.  "server CPU" is the served fake's CPU use while the clients ran (100 % means
the server, not the client, set the pace).

    python benchmarks/transport.py [--repeats 5] [--quick]
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass, field

import aiohttp
import httpx
from _common import Server, machine, md_table, median, pin_client, served_fake

from pixverse_speech import AsyncSpeechAPI
from pixverse_speech._aiohttp import AiohttpTransport

POOL = 20
LEVELS = (1, 10, 100, 1000)
#: Calls per measured run at each level (never fewer than the calls in flight).
CALLS = {
    "get": {1: 300, 10: 600, 100: 800, 1000: 1000},
    "list": {1: 150, 10: 300, 100: 400, 1000: 1000},
}

Call = Callable[[], Awaitable[object]]
Factory = Callable[[Server, str], AbstractAsyncContextManager[Call]]


def _urls(server: Server, endpoint: str) -> tuple[str, dict[str, str]]:
    if endpoint == "get":
        url = f"{server.base_url}pixverse/speech/{server.audio_ids[0]}"
    else:
        url = f"{server.base_url}pixverse/speech/?email={server.email}&limit=50"
    return url, {"Authorization": f"Bearer {server.token}", "Accept": "application/json"}


@asynccontextmanager
async def httpx_default(server: Server, endpoint: str) -> AsyncIterator[Call]:
    url, headers = _urls(server, endpoint)
    async with httpx.AsyncClient() as http:

        async def call() -> object:
            response = await http.get(url, headers=headers)
            response.raise_for_status()
            return response.json()

        yield call


def _bare_httpx(transport: Callable[[], httpx.AsyncBaseTransport | None]) -> Factory:
    @asynccontextmanager
    async def factory(server: Server, endpoint: str) -> AsyncIterator[Call]:
        url, headers = _urls(server, endpoint)
        limits = httpx.Limits(max_connections=POOL, max_keepalive_connections=POOL)
        gate = asyncio.Semaphore(POOL)
        async with httpx.AsyncClient(limits=limits, transport=transport()) as http:

            async def call() -> object:
                async with gate:
                    response = await http.get(url, headers=headers)
                response.raise_for_status()
                return response.json()

            yield call

    return factory


def _aiohttp_transport() -> httpx.AsyncBaseTransport:
    return AiohttpTransport(
        limits=httpx.Limits(max_connections=POOL, max_keepalive_connections=POOL)
    )


def _client(transport: str | None) -> Factory:
    @asynccontextmanager
    async def factory(server: Server, endpoint: str) -> AsyncIterator[Call]:
        async with AsyncSpeechAPI(
            token=server.token,
            email=server.email,
            base_url=server.base_url,
            transport=transport,  # type: ignore[arg-type]
        ) as api:
            audio_id = server.audio_ids[0]

            async def get() -> object:
                return await api.get(audio_id)

            async def page() -> object:
                return await api.list(limit=50)

            yield get if endpoint == "get" else page

    return factory


@asynccontextmanager
async def raw_aiohttp(server: Server, endpoint: str) -> AsyncIterator[Call]:
    url, headers = _urls(server, endpoint)
    connector = aiohttp.TCPConnector(limit=POOL)
    async with aiohttp.ClientSession(connector=connector) as session:

        async def call() -> object:
            async with session.get(url, headers=headers) as response:
                response.raise_for_status()
                return await response.json()

        yield call


CLIENTS: dict[str, Factory] = {
    "httpx default": httpx_default,
    "httpx pool+sem": _bare_httpx(lambda: None),
    "client (httpx)": _client(None),
    "httpx/aiohttp+sem": _bare_httpx(_aiohttp_transport),
    "client (aiohttp)": _client("aiohttp"),
    "raw aiohttp": raw_aiohttp,
}


@dataclass
class Run:
    rate: float  # successful calls per second
    cpu_us: float  # client CPU per call, microseconds
    server_cpu: float  # server CPU seconds / wall seconds
    failures: Counter[str] = field(default_factory=Counter)


async def measure(call: Call, in_flight: int, calls: int, server: Server) -> Run:
    done = 0
    started = 0
    failures: Counter[str] = Counter()

    async def worker() -> None:
        nonlocal done, started
        while started < calls:
            started += 1
            try:
                await call()
                done += 1
            except Exception as exc:
                failures[type(exc).__name__] += 1

    # Warm up: open the connections the level will use.
    warm = [call() for _ in range(min(in_flight, POOL) * 2)]
    await asyncio.gather(*warm, return_exceptions=True)
    server_before = server.cpu_seconds()
    cpu_before = time.process_time()
    wall_before = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(in_flight)))
    wall = time.perf_counter() - wall_before
    cpu = time.process_time() - cpu_before
    server_cpu = server.cpu_seconds() - server_before
    return Run(
        rate=done / wall,
        cpu_us=cpu / max(done, 1) * 1e6,
        server_cpu=server_cpu / wall,
        failures=failures,
    )


async def run_all(server: Server, repeats: int, levels: tuple[int, ...], scale: float) -> dict:
    results: dict[tuple[str, str, int], list[Run]] = {}
    for endpoint in ("get", "list"):
        for _ in range(repeats):
            for level in levels:
                calls = max(level, int(CALLS[endpoint][level] * scale))
                for name, factory in CLIENTS.items():
                    async with factory(server, endpoint) as call:
                        run = await measure(call, level, calls, server)
                    results.setdefault((endpoint, name, level), []).append(run)
    return results


async def pool_check(server: Server, in_flight: int = 1000) -> str:
    """Calls launched at once with a 1 s pool timeout: does any wait that long in httpx's pool?"""
    url, headers = _urls(server, "get")
    timeout = httpx.Timeout(10.0, pool=1.0)
    rows = []

    async def raw() -> tuple[list[object], float]:
        async with httpx.AsyncClient(timeout=timeout) as http:
            started = time.perf_counter()
            outcomes = await asyncio.gather(
                *(http.get(url, headers=headers) for _ in range(in_flight)), return_exceptions=True
            )
            return outcomes, time.perf_counter() - started

    async def ours(transport: str | None) -> tuple[list[object], float]:
        async with AsyncSpeechAPI(
            token=server.token,
            base_url=server.base_url,
            timeout=timeout,
            max_retries=0,  # a pool timeout fails its call instead of hiding in a retry
            transport=transport,  # type: ignore[arg-type]
        ) as api:
            audio_id = server.audio_ids[0]
            started = time.perf_counter()
            outcomes = await asyncio.gather(
                *(api.get(audio_id) for _ in range(in_flight)), return_exceptions=True
            )
            return outcomes, time.perf_counter() - started

    for name, run in (
        ("httpx, default limits (100 connections)", raw),
        ("client (httpx), default max_connections=20", lambda: ours(None)),
        ("client (aiohttp), default max_connections=20", lambda: ours("aiohttp")),
    ):
        outcomes, wall = await run()
        kinds: Counter[str] = Counter()
        for outcome in outcomes:
            if isinstance(outcome, BaseException):
                cause = outcome.__cause__ or outcome
                kinds[type(cause).__name__] += 1
        failed = ", ".join(f"{n:,} {k}" for k, n in kinds.items()) or "none"
        rows.append([name, f"{wall:.1f}", failed])
    return md_table([f"{in_flight:,} gets at once, pool timeout 1 s", "wall s", "failed"], rows)


def _rate(runs: list[Run]) -> str:
    failures: Counter[str] = Counter()
    for run in runs:
        failures += run.failures
    rate = f"{median([r.rate for r in runs]):,.0f}"
    if failures:
        total = sum(failures.values())
        kinds = ", ".join(f"{k}" for k in failures)
        return f"{rate} (**{total / len(runs):,.0f} failed/run: {kinds}**)"
    return rate


def report(results: dict, levels: tuple[int, ...]) -> str:
    out: list[str] = []
    names = list(CLIENTS)
    for endpoint, title in (("get", "One job record: `get`"), ("list", "A 50-record page: `list`")):
        out.append(f"### {title}: calls per second (median)")
        out.append("")
        rows = [[name, *[_rate(results[endpoint, name, lv]) for lv in levels]] for name in names]
        out.append(md_table(["client", *[f"{lv:,} in flight" for lv in levels]], rows))
        out.append("")
        out.append(f"### {title}: client CPU per call (µs, median) and server CPU")
        out.append("")
        rows = []
        for name in names:
            cells = []
            for lv in levels:
                runs = results[endpoint, name, lv]
                cells.append(
                    f"{median([r.cpu_us for r in runs]):,.0f} "
                    f"({median([r.server_cpu for r in runs]):.0%})"
                )
            rows.append([name, *cells])
        out.append(
            md_table(["client: CPU µs/call (server CPU)", *[f"{lv:,}" for lv in levels]], rows)
        )
        out.append("")
        out.append(f"### {title}: the library's own cost, CPU per call vs bare httpx + json()")
        out.append("")
        rows = []
        for ours, bare in (
            ("client (httpx)", "httpx pool+sem"),
            ("client (aiohttp)", "httpx/aiohttp+sem"),
        ):
            cells = []
            for lv in levels:
                a = median([r.cpu_us for r in results[endpoint, ours, lv]])
                b = median([r.cpu_us for r in results[endpoint, bare, lv]])
                ra = median([r.rate for r in results[endpoint, ours, lv]])
                rb = median([r.rate for r in results[endpoint, bare, lv]])
                cells.append(f"{a - b:+,.0f} µs ({a / b - 1:+.0%}); rate {ra / rb - 1:+.0%}")
            rows.append([f"{ours} vs {bare}", *cells])
        out.append(md_table(["comparison", *[f"{lv:,}" for lv in levels]], rows))
        out.append("")
        out.append(f"### {title}: speed-ups (calls per second, same run)")
        out.append("")
        rows = []
        for a, b in (
            ("client (httpx)", "httpx default"),
            ("client (aiohttp)", "client (httpx)"),
            ("raw aiohttp", "client (aiohttp)"),
        ):
            cells = []
            for lv in levels:
                ra = median([r.rate for r in results[endpoint, a, lv]])
                rb = median([r.rate for r in results[endpoint, b, lv]])
                cells.append(f"{ra / rb:.2f}x")
            rows.append([f"{a} / {b}", *cells])
        out.append(md_table(["ratio", *[f"{lv:,}" for lv in levels]], rows))
        out.append("")
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--quick", action="store_true", help="a fifth of the calls, one repeat")
    args = parser.parse_args(argv)
    repeats, scale = (1, 0.2) if args.quick else (args.repeats, 1.0)
    pinned = pin_client()
    started = time.perf_counter()
    with served_fake() as server:
        results = asyncio.run(run_all(server, repeats, LEVELS, scale))
        pools = asyncio.run(pool_check(server))
    print("## Transport: calls per second and client CPU per call")
    print()
    print(f"Machine: {machine()}.")
    print(
        f"Server pinned to CPU {server.pinned_cpu}, client to CPU 1: {pinned}. "
        f"{repeats} repetition(s); calls per run: get {CALLS['get']}, list {CALLS['list']}"
        f"{' (x0.2)' if scale != 1 else ''}."
    )
    print()
    print(report(results, LEVELS))
    print("### Pool timeouts: 1,000 calls launched at once")
    print()
    print(pools)
    print()
    print(f"({time.perf_counter() - started:.0f} s)", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
