"""Helpers the reliability suites share: hypothesis settings, live tasks, open descriptors."""

from __future__ import annotations

import asyncio
import os

import anyio
import sniffio
import trio
from hypothesis import HealthCheck, settings

#: The settings every property test starts from: deterministic (the same examples on every run,
#: so CI cannot flake), no per-example deadline (the event loop's start-up varies).  Scoped to
#: these suites by decorator, never loaded as the process-wide profile.
DETERMINISTIC = settings(
    derandomize=True,
    deadline=None,
    print_blob=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)


def live_tasks() -> int:
    """How many tasks are alive in the running event loop (the caller's own included).

    asyncio: ``asyncio.all_tasks()``; trio: the run's living-task statistic, which counts system
    tasks too (the comparisons are always against a baseline taken in the same run).
    """
    if sniffio.current_async_library() == "trio":
        return trio.lowlevel.current_statistics().tasks_living
    return len(asyncio.all_tasks())


async def settled_tasks(baseline: int, *, within: float = 2.0) -> int:
    """The live-task count once it is back to ``baseline`` or ``within`` seconds have passed.

    A task that was cancelled may need a few loop iterations to finish unwinding.
    """
    for _ in range(int(within / 0.005)):
        if live_tasks() <= baseline:
            break
        await anyio.sleep(0.005)
    return live_tasks()


def open_fds() -> int:
    """How many file descriptors this process has open."""
    return len(os.listdir("/proc/self/fd"))


async def settled_fds(baseline: int, *, within: float = 3.0) -> int:
    """The open descriptor count once it is back to ``baseline`` or ``within`` seconds passed.

    The served fake's thread closes its sockets as it shuts down, a moment after the ``with``.
    """
    for _ in range(int(within / 0.02)):
        if open_fds() <= baseline:
            break
        await anyio.sleep(0.02)
    return open_fds()
