"""How many requests to let into the transport at once: CPU per call by ``max_connections``.

100 callers ``get`` one record each, in turn, through ``AsyncSpeechAPI(max_connections=n)`` (its
limiter and pool size), against ``serve_raw.py`` on the other CPU.  httpcore's pool spends more
CPU per request the more requests are inside it at once, so on the default transport the CPU per
call falls as ``n`` does, until too few are in flight to keep the connection busy.  Each cell is the
median of ``--repeats`` runs, the settings taking turns within each repetition.

    python benchmarks/in_flight.py [--repeats 5] [--callers 100]
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time

from _common import Server, machine, md_table, median, pin_client, served_raw
from transport import Run, measure, server_limits_of

from pixverse_speech import AsyncSpeechAPI

LIMITS = (2, 4, 8, 16, 20, 32)
CALLS = 1500


async def sweep(
    server: Server, repeats: int, callers: int, transports: tuple[str | None, ...]
) -> dict[tuple[str | None, int], list[Run]]:
    results: dict[tuple[str | None, int], list[Run]] = {}
    audio_id = server.audio_ids[0]
    for _ in range(repeats):
        for transport in transports:
            for limit in LIMITS:
                async with AsyncSpeechAPI(
                    token=server.token,
                    base_url=server.base_url,
                    max_connections=limit,
                    transport=transport,  # type: ignore[arg-type]
                ) as api:

                    async def call(api: AsyncSpeechAPI = api, audio_id: str = audio_id) -> object:
                        return await api.get(audio_id)

                    run = await measure(call, callers, CALLS, server)
                results.setdefault((transport, limit), []).append(run)
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--callers", type=int, default=100)
    parser.add_argument("--httpx-only", action="store_true", help="skip the aiohttp transport")
    args = parser.parse_args(argv)
    transports: tuple[str | None, ...] = (None,) if args.httpx_only else (None, "aiohttp")
    pinned = pin_client()
    started = time.perf_counter()
    with served_raw() as server:
        results = asyncio.run(sweep(server, args.repeats, args.callers, transports))
    print(f"## In flight: `get` with {args.callers} callers, by `max_connections`")
    print()
    print(f"Command: `python benchmarks/in_flight.py {' '.join(sys.argv[1:])}`".rstrip() + ".")
    print(f"Machine: {machine()}.")
    print(f"Client pinned: {pinned}; {args.repeats} repetition(s) of {CALLS:,} calls per cell.")
    print()
    rows = []
    for transport in transports:
        name = "default (httpx)" if transport is None else f'"{transport}"'
        for measure_name, attr, fmt in (
            ("client CPU µs/call", "cpu_us", "{:,.0f}"),
            ("calls/s", "rate", "{:,.0f}"),
            ("server CPU", "server_cpu", "{:.0%}"),
        ):
            cells = [
                fmt.format(median([getattr(r, attr) for r in results[transport, n]]))
                for n in LIMITS
            ]
            rows.append([f"{name}: {measure_name}", *cells])
    print(md_table(["transport: measure", *[f"{n}" for n in LIMITS]], rows))
    print()
    print(f"({time.perf_counter() - started:.0f} s)", file=sys.stderr)
    problems = server_limits_of({f"{t} / {n}": runs for (t, n), runs in results.items()})
    if problems:
        print("FAILED: the server, not the client, may have been the limit:", file=sys.stderr)
        for problem in problems:
            print(f"  - {problem}", file=sys.stderr)
        return 3
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
