"""The fake over a real socket: uvicorn on a background thread with its own event loop.

uvicorn is an optional dependency (the ``server`` extra), imported only when :func:`serve` runs.
"""

from __future__ import annotations

import logging
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from ._asgi import ConnectionDropped, FakeASGIApp

__all__ = ["serve_app"]


class _HideDrops(logging.Filter):
    """Keeps uvicorn from logging the exception a drop fault raises on purpose."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not (record.exc_info and isinstance(record.exc_info[1], ConnectionDropped))


@contextmanager
def serve_app(
    app: FakeASGIApp,
    *,
    host: str,
    port: int,
    startup_timeout: float,
    shutdown_timeout: float,
    on_origin: Callable[[str | None], None],
) -> Iterator[str]:
    """Serve ``app`` on ``host:port`` (0: any free port) while in the block; yields the origin."""
    try:
        import uvicorn
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise RuntimeError(
            "serving the fake needs uvicorn: pip install 'pixverse-speech[server]'"
        ) from exc

    config = uvicorn.Config(
        app,
        host=host,
        port=port,
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
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # IPPROTO_TCP, not 0: asyncio turns Nagle off only on sockets that say they are TCP.
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    hide_drops = _HideDrops()
    error_logger = logging.getLogger("uvicorn.error")
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        bound_port = sock.getsockname()[1]
        netloc = f"[{host}]" if family == socket.AF_INET6 else host
        origin = f"http://{netloc}:{bound_port}"
        error_logger.addFilter(hide_drops)
        thread = threading.Thread(
            target=server.run,
            kwargs={"sockets": [sock]},
            name=f"fake-speech-api-{bound_port}",
            daemon=True,
        )
        thread.start()
        try:
            deadline = time.monotonic() + startup_timeout
            while not server.started:
                if not thread.is_alive():
                    raise RuntimeError("the fake speech API server failed to start")
                if time.monotonic() > deadline:
                    raise RuntimeError(
                        f"the fake speech API server did not start within {startup_timeout} s"
                    )
                time.sleep(0.005)
            on_origin(origin)
            try:
                yield origin
            finally:
                on_origin(None)
        finally:
            server.should_exit = True
            thread.join(shutdown_timeout)
            if thread.is_alive():
                server.force_exit = True
                thread.join(shutdown_timeout)
    finally:
        error_logger.removeFilter(hide_drops)
        sock.close()
