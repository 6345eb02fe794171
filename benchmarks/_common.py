"""What the benchmark scripts share: the served fake in its own process, pinning, the machine."""

from __future__ import annotations

import http.client
import json
import os
import platform
import statistics
import subprocess
import sys
from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

HERE = Path(__file__).resolve().parent
SERVER_CPU = 0
CLIENT_CPU = 1


def pin_client() -> bool:
    """Run this (the client's) process on CPU 1 only, the server being on CPU 0."""
    if not hasattr(os, "sched_setaffinity") or (os.cpu_count() or 1) < 2:
        return False
    os.sched_setaffinity(0, {CLIENT_CPU})
    return True


@dataclass(frozen=True)
class Server:
    """The fake served by ``serve_fake.py`` in a child process."""

    base_url: str
    token: str
    email: str
    audio_ids: list[str]
    pid: int
    pinned_cpu: int | None
    reports_cpu: bool = False

    @property
    def origin(self) -> str:
        return self.base_url.split("/v2/")[0]

    def cpu_seconds(self) -> float:
        """CPU time the server process has used so far: as it reports it, else from ``/proc``."""
        if self.reports_cpu:
            host, port = self.origin.removeprefix("http://").split(":")
            connection = http.client.HTTPConnection(host, int(port), timeout=10)
            try:
                connection.request("GET", "/__cpu")
                return float(connection.getresponse().read())
            finally:
                connection.close()
        with open(f"/proc/{self.pid}/stat") as f:
            fields = f.read().rpartition(")")[2].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@contextmanager
def served_fake(jobs: int = 50, script: str = "serve_fake.py") -> Iterator[Server]:
    """Start ``script`` (the fake API by default) on its own CPU; yields once it listens."""
    process = subprocess.Popen(
        [sys.executable, str(HERE / script), "--jobs", str(jobs), "--cpu", str(SERVER_CPU)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        if not line:
            raise RuntimeError("the fake server exited before it was ready")
        yield Server(**json.loads(line))
    finally:
        if process.stdin is not None:
            process.stdin.close()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(10)


def served_raw(jobs: int = 50) -> AbstractContextManager[Server]:
    """``serve_raw.py``: the fake's bodies, pre-serialised, on a bare asyncio server."""
    return served_fake(jobs, "serve_raw.py")


def versions() -> dict[str, str]:
    out = {"Python": platform.python_version()}
    for name in ("httpx", "httpcore", "h11", "aiohttp", "httpx-aiohttp", "anyio", "cattrs"):
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = "not installed"
    return out


def cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def machine() -> str:
    parts = [f"{os.cpu_count()} CPUs ({cpu_model()})", platform.platform()]
    parts += [f"{k} {v}" for k, v in versions().items()]
    return "; ".join(parts)


def median(values: Sequence[float]) -> float:
    return statistics.median(values) if values else float("nan")


def md_table(header: Sequence[str], rows: Sequence[Sequence[str]], right_from: int = 1) -> str:
    align = ["---" if i < right_from else "---:" for i in range(len(header))]
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join(align) + "|"]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)
