"""Calls per second and client CPU per call, ``get`` and ``list``, with the client the limit.

The server (``serve_raw.py``: the fake API's bodies, pre-serialised, on a bare asyncio server) runs
in its own process pinned to CPU 0; this client process is pinned to CPU 1.  For 1, 10 and 100
calls in flight, each client makes a bounded number of calls to ``GET speech/{id}`` (one ~0.7 KB
record) and ``GET speech/?limit=50`` (a 50-record page), reading and JSON-decoding every body.
Each cell is the median of ``--repeats`` runs; the clients take turns within each repetition, so
ratios come from the same conditions.

Clients, all on asyncio:

* ``httpx default``: ``httpx.AsyncClient()`` with its default limits, calls launched as they come.
* ``httpx pool+sem``: bare httpx ``GET`` + ``json()``, as many connections as the library lets
  requests in flight by default on this transport, and a semaphore of that size in front.
* ``client (httpx)``: ``AsyncSpeechAPI()`` on its default transport, default limits.
* ``httpx/aiohttp+sem``: the same bare httpx over the aiohttp transport of ``transport="aiohttp"``.
* ``client (aiohttp)``: ``AsyncSpeechAPI(transport="aiohttp")``.
* ``raw aiohttp``: ``aiohttp.ClientSession`` with 20 connections: the ceiling for Python here.

``client`` rows return decoded, validated ``Speech``/``SpeechPage`` objects; the bare rows stop at
``response.json()``.  Client CPU is ``time.process_time()`` per call; "server CPU" is the server
process's CPU time (``/proc/<pid>/stat``) over the same wall time.

The run fails (exit status 3, a message on stderr, after printing its tables) when the server
rather than the client may have set the pace: any cell with the server above 70 % of its core, or
raw aiohttp less than 3x the library on httpx for ``get`` at the highest level measured.

    python benchmarks/transport.py [--repeats 5] [--quick] [--levels 1,10,100]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
import timeit
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass, field

import aiohttp
import httpx
from _common import Server, machine, md_table, median, pin_client, served_raw

from pixverse_speech import AsyncSpeechAPI
from pixverse_speech._aiohttp import AiohttpTransport
from pixverse_speech._converter import structure
from pixverse_speech._models import Speech, SpeechPage

#: Connections of raw aiohttp, the ceiling (independent of the library's defaults).
RAW_POOL = 20
LEVELS = (1, 10, 100)
#: Calls per measured run at each level (never fewer than the calls in flight).
CALLS = {
    "get": {1: 400, 10: 1500, 100: 2000, 1000: 3000},
    "list": {1: 150, 10: 300, 100: 400, 1000: 1000},
}
SERVER_LIMIT = 0.70  # of one core
# 3x, not the 5x of the first version: the library's `get` on httpx has since doubled its calls/s,
# while raw aiohttp still runs the server at about a fifth of its core.
RAW_OVER_LIBRARY = 3.0

Call = Callable[[], Awaitable[object]]
Factory = Callable[[Server, str], AbstractAsyncContextManager[Call]]


def library_in_flight(transport: str | None) -> int:
    """How many requests the library lets in flight by default (its limiter and pool)."""
    api = AsyncSpeechAPI(token="x" * 16, transport=transport)  # type: ignore[arg-type]
    return api._sender.max_in_flight


POOL = library_in_flight(None)
POOL_AIOHTTP = library_in_flight("aiohttp")


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


def _bare_httpx(
    transport: Callable[[], httpx.AsyncBaseTransport | None], pool: int = POOL
) -> Factory:
    @asynccontextmanager
    async def factory(server: Server, endpoint: str) -> AsyncIterator[Call]:
        url, headers = _urls(server, endpoint)
        limits = httpx.Limits(max_connections=pool, max_keepalive_connections=pool)
        gate = asyncio.Semaphore(pool)
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
        limits=httpx.Limits(max_connections=POOL_AIOHTTP, max_keepalive_connections=POOL_AIOHTTP)
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
    connector = aiohttp.TCPConnector(limit=RAW_POOL)
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
    "httpx/aiohttp+sem": _bare_httpx(_aiohttp_transport, POOL_AIOHTTP),
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
    await asyncio.gather(*(call() for _ in range(min(in_flight, RAW_POOL) * 2)))
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


Results = dict[tuple[str, str, int], list[Run]]


async def run_all(server: Server, repeats: int, levels: tuple[int, ...], scale: float) -> Results:
    results: Results = {}
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
        (f"client (httpx), default ({POOL} in flight)", lambda: ours(None)),
        (f"client (aiohttp), default ({POOL_AIOHTTP} in flight)", lambda: ours("aiohttp")),
    ):
        outcomes, wall = await run()
        kinds: Counter[str] = Counter()
        for outcome in outcomes:
            if isinstance(outcome, BaseException):
                cause = outcome.__cause__ or outcome
                kinds[type(cause).__name__] += 1
        failed = ", ".join(f"{n:,} {k}" for k, n in kinds.items()) or "none"
        rows.append([name, f"{wall:.2f}", failed])
    return md_table([f"{in_flight:,} gets at once, pool timeout 1 s", "wall s", "failed"], rows)


def _med(results: Results, endpoint: str, name: str, level: int, attr: str) -> float:
    return median([getattr(r, attr) for r in results[endpoint, name, level]])


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


OWN_COST = (("client (httpx)", "httpx pool+sem"), ("client (aiohttp)", "httpx/aiohttp+sem"))


def report(results: Results, levels: tuple[int, ...]) -> str:
    out: list[str] = []
    names = list(CLIENTS)
    for endpoint, title in (("get", "One job record: `get`"), ("list", "A 50-record page: `list`")):
        out.append(f"### {title}: calls per second (median)")
        out.append("")
        rows = [[name, *[_rate(results[endpoint, name, lv]) for lv in levels]] for name in names]
        out.append(md_table(["client", *[f"{lv:,} in flight" for lv in levels]], rows))
        out.append("")
        out.append(f"### {title}: client CPU per call, µs (server CPU, % of its core)")
        out.append("")
        rows = []
        for name in names:
            cells = [
                f"{_med(results, endpoint, name, lv, 'cpu_us'):,.0f} "
                f"({_med(results, endpoint, name, lv, 'server_cpu'):.0%})"
                for lv in levels
            ]
            rows.append([name, *cells])
        out.append(md_table(["client", *[f"{lv:,} in flight" for lv in levels]], rows))
        out.append("")
        out.append(f"### {title}: the library's own CPU per call over bare httpx + json()")
        out.append("")
        rows = []
        for ours, bare in OWN_COST:
            cells = []
            for lv in levels:
                a = _med(results, endpoint, ours, lv, "cpu_us")
                b = _med(results, endpoint, bare, lv, "cpu_us")
                cells.append(f"{a - b:+,.0f} µs ({a / b - 1:+.0%})")
            rows.append([f"{ours} vs {bare}", *cells])
        out.append(md_table(["comparison", *[f"{lv:,} in flight" for lv in levels]], rows))
        out.append("")
        out.append(f"### {title}: throughput ratios (same run)")
        out.append("")
        rows = []
        for a, b in (
            ("client (httpx)", "httpx default"),
            ("client (aiohttp)", "client (httpx)"),
            ("client (aiohttp)", "raw aiohttp"),
            ("raw aiohttp", "client (httpx)"),
        ):
            cells = []
            for lv in levels:
                ra = _med(results, endpoint, a, lv, "rate")
                rb = _med(results, endpoint, b, lv, "rate")
                cells.append(f"{ra / rb:.2f}x")
            rows.append([f"{a} / {b}", *cells])
        out.append(md_table(["ratio", *[f"{lv:,} in flight" for lv in levels]], rows))
        out.append("")
    return "\n".join(out)


def decode_cost(server: Server) -> dict[str, float]:
    """CPU µs per body of what the client adds to ``json.loads``: ``structure`` into records."""
    out = {}
    for endpoint, cls in (("get", Speech), ("list", SpeechPage)):
        url, headers = _urls(server, endpoint)
        body = json.loads(httpx.get(url, headers=headers).content)
        timer = timeit.Timer(lambda: structure(body, cls), timer=time.process_time)  # noqa: B023
        out[endpoint] = min(timer.repeat(repeat=5, number=200)) / 200 * 1e6
    return out


def goals(results: Results, levels: tuple[int, ...], decode: dict[str, float]) -> str:
    """The issue-11 goals, from this run."""
    rows = []
    for endpoint, goal in (("get", 0.10), ("list", 0.30)):
        for ours, bare in OWN_COST:
            over = [
                _med(results, endpoint, ours, lv, "cpu_us")
                / _med(results, endpoint, bare, lv, "cpu_us")
                - 1
                for lv in levels
            ]
            cells = ", ".join(f"{x:+.0%} at {lv:,}" for x, lv in zip(over, levels, strict=True))
            verdict = "met" if max(over) <= goal else "**missed**"
            rows.append(
                [f"`{endpoint}` own CPU over bare httpx, {ours}", cells, f"≤ {goal:+.0%}", verdict]
            )
            # What is left once decoding the body into records (issue 11a's part) is taken out.
            rest = [
                (
                    _med(results, endpoint, ours, lv, "cpu_us")
                    - decode[endpoint]
                    - _med(results, endpoint, bare, lv, "cpu_us")
                )
                / _med(results, endpoint, bare, lv, "cpu_us")
                for lv in levels
            ]
            cells = ", ".join(f"{x:+.0%} at {lv:,}" for x, lv in zip(rest, levels, strict=True))
            rows.append(
                [
                    f"… of which not decoding ({decode[endpoint]:,.0f} µs per body)",
                    cells,
                    "",
                    "",
                ]
            )
    top = 100 if 100 in levels else max(levels)
    ratio = _med(results, "get", "client (aiohttp)", top, "rate") / _med(
        results, "get", "raw aiohttp", top, "rate"
    )
    rows.append(
        [
            f'`get` throughput, `transport="aiohttp"`, {top:,} in flight',
            f"{ratio:.2f}x raw aiohttp",
            "≥ 0.6x",
            "met" if ratio >= 0.6 else "**missed**",
        ]
    )
    cpu = _med(results, "get", "client (httpx)", top, "cpu_us")
    rows.append(
        [
            f"`get` CPU per call, default transport, {top:,} callers",
            f"{cpu:,.0f} µs",
            "≤ 700 µs",
            "met" if cpu <= 700 else "**missed**",
        ]
    )
    return md_table(["measure", "this run", "goal", "verdict"], rows, right_from=99)


def server_limits_of(cells: dict[str, list[Run]]) -> list[str]:
    """The cells (by name) whose server used more than ``SERVER_LIMIT`` of its core."""
    problems = []
    for name, runs in cells.items():
        busy = median([r.server_cpu for r in runs])
        if busy > SERVER_LIMIT:
            problems.append(
                f"server CPU {busy:.0%} of its core (limit {SERVER_LIMIT:.0%}) for {name}"
            )
    return problems


def server_limits(results: Results, levels: tuple[int, ...]) -> list[str]:
    """Why the server, not the client, may have set the pace; empty when it did not."""
    problems = server_limits_of(
        {f"{e} / {n} / {lv} in flight": runs for (e, n, lv), runs in results.items()}
    )
    top = max(levels)
    raw = _med(results, "get", "raw aiohttp", top, "rate")
    ours = _med(results, "get", "client (httpx)", top, "rate")
    if raw < RAW_OVER_LIBRARY * ours:
        problems.append(
            f"raw aiohttp made only {raw / ours:.1f}x the library's (httpx) `get` calls/s at "
            f"{top:,} in flight (at least {RAW_OVER_LIBRARY:.0f}x shows the client is the limit)"
        )
    return problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--quick", action="store_true", help="a fifth of the calls, one repeat")
    parser.add_argument("--levels", default=",".join(map(str, LEVELS)), help="e.g. 1,10,100")
    parser.add_argument("--no-pool-check", action="store_true", help="skip 1,000 gets at once")
    args = parser.parse_args(argv)
    levels = tuple(int(x) for x in args.levels.split(","))
    repeats, scale = (1, 0.2) if args.quick else (args.repeats, 1.0)
    pinned = pin_client()
    started = time.perf_counter()
    with served_raw() as server:
        results = asyncio.run(run_all(server, repeats, levels, scale))
        pools = None if args.no_pool_check else asyncio.run(pool_check(server))
        decode = decode_cost(server)
    print("## Transport: calls per second and client CPU per call")
    print()
    print(f"Command: `python benchmarks/transport.py {' '.join(sys.argv[1:])}`".rstrip() + ".")
    print(f"Machine: {machine()}.")
    print(
        f"Server (`serve_raw.py`) pinned to CPU {server.pinned_cpu}, client to CPU 1: {pinned}. "
        f"{repeats} repetition(s); the library's default in flight: {POOL} "
        f"({POOL_AIOHTTP} on aiohttp); calls per run: "
        f"get {CALLS['get']}, list {CALLS['list']}{' (x0.2)' if scale != 1 else ''}."
    )
    print()
    print("### Goals (issue 11), this run")
    print()
    print(goals(results, levels, decode))
    print()
    print(report(results, levels))
    if pools is not None:
        print("### Pool timeouts: 1,000 calls launched at once")
        print()
        print(pools)
        print()
    print(f"({time.perf_counter() - started:.0f} s)", file=sys.stderr)
    problems = server_limits(results, levels)
    if problems:
        print("FAILED: the server, not the client, may have been the limit:", file=sys.stderr)
        for problem in problems:
            print(f"  - {problem}", file=sys.stderr)
        return 3
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
