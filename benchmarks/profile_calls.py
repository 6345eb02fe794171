"""Where a call's client CPU goes: cProfile of the library's ``get``/``list`` against serve_raw.py.

100 callers share one ``AsyncSpeechAPI`` (default ``max_connections``) on the chosen transport;
after a warm-up, ``--calls`` calls run under cProfile.  Prints the share of profiled CPU by
package and the top functions by own time.  cProfile slows pure-Python code more than C code, so
read the shares as a map of where time goes, not as timings.

    python benchmarks/profile_calls.py [--transport httpx|aiohttp] [--endpoint get|list]
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import io
import pstats
import sys
import sysconfig

from _common import HERE, md_table, pin_client, served_raw
from transport import measure

from pixverse_speech import AsyncSpeechAPI

PACKAGES = (
    "pixverse_speech",
    "httpcore",
    "h11",
    "anyio",
    "httpx_aiohttp",
    "aiohttp",
    "httpx",
    "asyncio",
    "json",
    "cattrs",
    "sniffio",
    "yarl",
    "multidict",
)


def package_of(filename: str) -> str:
    if filename.startswith(("<cattrs generated", "<attrs generated")):
        return "pixverse_speech (generated decoders)"
    for package in PACKAGES:
        if f"/{package}/" in filename:
            return package
    return "interpreter and C calls" if filename == "~" else "other"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--transport", choices=("httpx", "aiohttp"), default="httpx")
    parser.add_argument("--endpoint", choices=("get", "list"), default="get")
    parser.add_argument("--calls", type=int, default=2000)
    parser.add_argument("--callers", type=int, default=100)
    parser.add_argument("--top", type=int, default=15)
    args = parser.parse_args(argv)
    pin_client()
    profile = cProfile.Profile()
    with served_raw() as server:

        async def run() -> None:
            async with AsyncSpeechAPI(
                token=server.token,
                email=server.email,
                base_url=server.base_url,
                transport=None if args.transport == "httpx" else "aiohttp",
            ) as api:
                audio_id = server.audio_ids[0]

                async def call() -> object:
                    if args.endpoint == "get":
                        return await api.get(audio_id)
                    return await api.list(limit=50)

                await measure(call, args.callers, args.calls // 4, server)
                profile.enable()
                await measure(call, args.callers, args.calls, server)
                profile.disable()

        asyncio.run(run())
    stats = pstats.Stats(profile)
    shares: dict[str, float] = {}
    total = 0.0
    for (filename, _, _), (_, _, own, _, _) in stats.stats.items():  # type: ignore[attr-defined]
        key = package_of(filename)
        shares[key] = shares.get(key, 0.0) + own
        total += own
    print(
        f"## Profile: `{args.endpoint}`, transport {args.transport}, {args.callers} callers, "
        f"{args.calls:,} calls"
    )
    print()
    print(f"Command: `python benchmarks/profile_calls.py {' '.join(sys.argv[1:])}`".rstrip() + ".")
    print()
    rows = [[k, f"{v / total:.0%}"] for k, v in sorted(shares.items(), key=lambda kv: -kv[1])]
    print(md_table(["package", "share of profiled own time"], rows))
    print()
    out = io.StringIO()
    pstats.Stats(profile, stream=out).sort_stats("tottime").print_stats(args.top)
    lines = out.getvalue().splitlines()
    start = next(i for i, line in enumerate(lines) if line.strip().startswith("ncalls"))
    print("```")
    prefixes = (sysconfig.get_paths()["purelib"] + "/", str(HERE.parent) + "/")
    for line in lines[start:]:
        for prefix in prefixes:
            line = line.replace(prefix, "")
        print(line.rstrip())
    print("```")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
