"""The floor under any per-call wait: peak RSS of 10,000 bare tasks sleeping in a task group.

    python benchmarks/bare_tasks.py trio      # on trio's mock clock
    python benchmarks/bare_tasks.py asyncio

The package is imported first, so the figure compares with ``coalesced_waits.py``'s memory run:
what 10,000 concurrent ``wait_until_final`` calls cost above this is the wait engine's own share.
"""

from __future__ import annotations

import resource
import sys

import anyio
import trio.testing

import pixverse_speech  # noqa: F401  (the same imports as the memory run)

TASKS = 10_000


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


async def _sleepers() -> None:
    async with anyio.create_task_group() as tg:
        for _ in range(TASKS):
            tg.start_soon(anyio.sleep, 1)


def main(backend: str) -> None:
    before = _rss_mb()
    if backend == "trio":
        clock = trio.testing.MockClock(autojump_threshold=0)
        anyio.run(_sleepers, backend="trio", backend_options={"clock": clock})
    else:
        anyio.run(_sleepers, backend="asyncio")
    print(
        f"{backend}: imports {before:.1f} MB, peak with {TASKS:,} sleeping tasks {_rss_mb():.1f} MB"
    )


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "asyncio")
