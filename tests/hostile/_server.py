"""A hostile HTTP/1.1 server on 127.0.0.1: raw asyncio streams, driven by a per-test handler.

It runs its own asyncio loop in a thread, so that it keeps its own pace (a byte a second, an
endless body) whatever the client's event loop (asyncio or trio) is doing.  A handler gets each
request, parsed by hand (chunked request bodies included, so that a body where none belongs is
seen), and a :class:`Reply` to answer with: whole, a byte at a time, or not at all.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

__all__ = ["HostileServer", "Reply", "Request", "head"]


@dataclass(frozen=True)
class Request:
    """One request as it arrived."""

    method: str
    target: str
    headers: dict[str, str] = field(repr=False)  # lower-cased names
    body: bytes
    chunked: bool  # the body came with Transfer-Encoding: chunked
    connection: int  # a serial number per TCP connection


class Reply:
    """The writing side of one connection, for a handler to answer with."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._reader = reader
        self._writer = writer

    async def hold(self, seconds: float) -> None:
        """Send nothing for ``seconds``; ``ConnectionError`` as soon as the client hangs up."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._reader.read(), seconds)
            raise ConnectionError("the client hung up")

    async def send(self, data: bytes) -> None:
        self._writer.write(data)
        await self._writer.drain()

    async def trickle(self, data: bytes, interval: float) -> None:
        """``data`` one byte at a time, ``interval`` seconds apart."""
        for i in range(len(data)):
            await self.send(data[i : i + 1])
            await self.hold(interval)

    async def respond(
        self, status: int = 200, body: bytes = b"", headers: dict[str, str] | None = None
    ) -> None:
        """A whole answer with a ``Content-Length``."""
        await self.send(head(status, {"Content-Length": str(len(body)), **(headers or {})}) + body)


def head(status: int, headers: dict[str, str]) -> bytes:
    """A status line and headers, up to the blank line."""
    lines = [f"HTTP/1.1 {status} Whatever", *(f"{k}: {v}" for k, v in headers.items())]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


#: Answers one request; returns whether the connection may serve another.
Handler = Callable[[Request, Reply], Awaitable[bool]]


class HostileServer:
    """Serves ``handler`` on 127.0.0.1 from a thread of its own; :meth:`stop` ends everything."""

    def __init__(self, handler: Handler) -> None:
        self.handler = handler
        self.requests: list[Request] = []
        self.errors: list[BaseException] = []
        self.port = 0
        self.open_connections = 0
        self._serial = 0
        self._ready = threading.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stopping: asyncio.Event | None = None
        self._thread = threading.Thread(target=self._run, name="hostile-server", daemon=True)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v2/"

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def start(self) -> None:
        self._thread.start()
        if not self._ready.wait(5):
            raise RuntimeError("the hostile server did not start")

    def stop(self) -> None:
        if self._loop is not None and self._stopping is not None:
            self._loop.call_soon_threadsafe(self._stopping.set)
        self._thread.join(5)
        if self._thread.is_alive():
            raise RuntimeError("the hostile server did not stop")

    def wait_for_no_open_connections(self, timeout: float = 3.0) -> int:
        deadline = time.monotonic() + timeout
        while self.open_connections and time.monotonic() < deadline:
            time.sleep(0.01)
        return self.open_connections

    def _run(self) -> None:
        asyncio.run(self._main())

    async def _main(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._stopping = asyncio.Event()
        tasks: set[asyncio.Task[None]] = set()

        async def accepted(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            task = asyncio.current_task()
            assert task is not None
            tasks.add(task)
            try:
                await self._serve(reader, writer)
            finally:
                tasks.discard(task)

        server = await asyncio.start_server(accepted, "127.0.0.1", 0, limit=1 << 20)
        self.port = server.sockets[0].getsockname()[1]
        self._ready.set()
        async with server:
            await self._stopping.wait()
            server.close()
            for task in list(tasks):
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._serial += 1
        serial = self._serial
        self.open_connections += 1
        try:
            while True:
                request = await _read_request(reader, serial)
                if request is None:
                    return
                self.requests.append(request)
                if not await self.handler(request, Reply(reader, writer)):
                    return
        except (ConnectionError, asyncio.IncompleteReadError, asyncio.CancelledError):
            pass  # the client hung up, or the server is stopping
        except Exception as exc:  # a bug in a handler: fail the test
            self.errors.append(exc)
        finally:
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()
            self.open_connections -= 1


async def _read_request(reader: asyncio.StreamReader, serial: int) -> Request | None:
    try:
        raw = await reader.readuntil(b"\r\n\r\n")
    except asyncio.IncompleteReadError:
        return None
    lines = raw.decode("latin-1").split("\r\n")
    method, target, _ = lines[0].split(" ", 2)
    headers: dict[str, str] = {}
    for line in lines[1:]:
        if line:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
    chunked = "chunked" in headers.get("transfer-encoding", "").lower()
    if chunked:
        body = b""
        while True:
            size = int((await reader.readuntil(b"\r\n")).split(b";")[0], 16)
            data = await reader.readexactly(size + 2)
            body += data[:-2]
            if size == 0:
                break
    else:
        body = await reader.readexactly(int(headers.get("content-length", "0")))
    return Request(method, target, headers, body, chunked, serial)
