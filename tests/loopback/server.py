"""A small scripted HTTP/1.1 server on 127.0.0.1, written with the standard library only.

It is deliberately independent of the library under test and of ``pixverse_speech.testing``: it
reads requests off real sockets by hand, answers them from a per-path script, and records what
arrived (the raw request target, headers, and the TCP connection each request came on).

A script is a queue of :class:`Reply` (or callables returning one) per raw path.  Each request
takes the next entry; the last entry repeats forever.  A request for a path without a script is
answered ``418`` and recorded in :attr:`LoopbackServer.unscripted`.
"""

from __future__ import annotations

import contextlib
import json
import select
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any
from urllib.parse import parse_qs

__all__ = [
    "LoopbackServer",
    "Recorded",
    "Reply",
    "drop",
    "html",
    "reply",
    "truncated",
]

_MAX_HEAD = 64 * 1024
#: How often blocked server threads look at the stop flag, in seconds.
_POLL = 0.01


@dataclass(frozen=True)
class Reply:
    """One scripted behaviour.

    ``kind`` is ``"respond"`` (a full answer), ``"drop"`` (close the connection without a byte of
    answer) or ``"truncate"`` (announce the full ``Content-Length``, send half the body, close).
    ``delay`` holds the answer back that many seconds; the wait ends early if the client hangs up.
    """

    status: int = 200
    body: bytes = b""
    headers: tuple[tuple[str, str], ...] = ()
    delay: float = 0.0
    kind: str = "respond"


Behaviour = Reply | Callable[["Recorded"], Reply]


def reply(
    payload: Any = None,
    status: int = 200,
    *,
    headers: dict[str, str] | None = None,
    delay: float = 0.0,
) -> Reply:
    """A JSON answer (``payload`` is dumped as JSON)."""
    return Reply(
        status=status,
        body=json.dumps(payload).encode(),
        headers=(("Content-Type", "application/json"), *(headers or {}).items()),
        delay=delay,
    )


def html(text: str, status: int = 502) -> Reply:
    """An HTML answer, the way a proxy in front of the API answers when the API is down."""
    return Reply(
        status=status,
        body=text.encode(),
        headers=(("Content-Type", "text/html; charset=utf-8"),),
    )


def drop(*, delay: float = 0.0) -> Reply:
    """Read the request, then close the connection without answering."""
    return Reply(kind="drop", delay=delay)


def truncated(payload: Any, status: int = 200) -> Reply:
    """A JSON answer whose body is cut off halfway, after which the connection is closed."""
    return Reply(
        status=status,
        body=json.dumps(payload).encode(),
        headers=(("Content-Type", "application/json"),),
        kind="truncate",
    )


@dataclass(frozen=True)
class Recorded:
    """One request as it arrived on the wire."""

    method: str
    target: str  # the raw request target, exactly as in the request line
    path: str  # the raw target up to "?"
    raw_query: str
    query: dict[str, list[str]]
    headers: dict[str, str] = field(repr=False)  # lower-cased names; kept out of reprs
    peer_port: int  # the client's port: one per TCP connection
    connection: int  # a serial number per accepted connection
    received_at: float  # time.monotonic() when the request was read in full


@dataclass
class _Connection:
    serial: int
    sock: socket.socket
    peer_port: int
    thread: threading.Thread | None = None
    closed: threading.Event = field(default_factory=threading.Event)


class LoopbackServer:
    """A threaded HTTP/1.1 server bound to 127.0.0.1 on a free port.

    Use :meth:`start` and :meth:`stop` (the pytest fixture does), :meth:`script` to say what each
    request to a path gets, and :attr:`requests` to see what came in.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._scripts: dict[str, list[Behaviour]] = {}
        self._listener: socket.socket | None = None
        self._accept_thread: threading.Thread | None = None
        self._connections: dict[int, _Connection] = {}
        self._serial = 0
        self._in_flight = 0
        self.max_in_flight = 0
        self.requests: list[Recorded] = []
        self.unscripted: list[Recorded] = []
        self.errors: list[BaseException] = []
        self.port = 0

    # -- lifecycle ---------------------------------------------------------------------------

    def start(self) -> None:
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", 0))
        listener.listen(64)
        listener.settimeout(_POLL)
        self._listener = listener
        self.port = listener.getsockname()[1]
        self._accept_thread = threading.Thread(
            target=self._accept_loop, name="loopback-accept", daemon=True
        )
        self._accept_thread.start()

    def stop(self, timeout: float = 5.0) -> list[str]:
        """Stop accepting, hang up every connection and join every thread.

        Returns the names of threads that did not finish within ``timeout`` (none, normally).
        """
        deadline = time.monotonic() + timeout
        self._stopping.set()
        if self._accept_thread is not None:
            self._accept_thread.join(max(0.0, deadline - time.monotonic()))
        if self._listener is not None:
            self._listener.close()
        with self._lock:
            connections = list(self._connections.values())
        for conn in connections:
            with contextlib.suppress(OSError):
                conn.sock.shutdown(socket.SHUT_RDWR)
        stuck = []
        for conn in connections:
            if conn.thread is not None:
                conn.thread.join(max(0.0, deadline - time.monotonic()))
                if conn.thread.is_alive():
                    stuck.append(conn.thread.name)
        if self._accept_thread is not None and self._accept_thread.is_alive():
            stuck.append(self._accept_thread.name)
        return stuck

    # -- scripting and inspection ------------------------------------------------------------

    def script(self, path: str, *behaviours: Behaviour) -> None:
        """Answer requests to the raw ``path`` with ``behaviours`` in turn; the last repeats."""
        if not behaviours:
            raise ValueError("a script needs at least one behaviour")
        with self._lock:
            self._scripts[path] = list(behaviours)

    def requests_to(self, path: str) -> list[Recorded]:
        with self._lock:
            return [r for r in self.requests if r.path == path]

    def open_connections(self) -> int:
        """Connections the server has not seen closed yet."""
        with self._lock:
            return sum(1 for c in self._connections.values() if not c.closed.is_set())

    def wait_for_no_open_connections(self, timeout: float = 3.0) -> int:
        """Wait (bounded) until every connection is closed; returns how many remain open."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.open_connections() == 0:
                return 0
            time.sleep(0.01)
        return self.open_connections()

    def connection_closed(self, serial: int, timeout: float = 3.0) -> bool:
        """Wait (bounded) until connection ``serial`` is closed; whether it was."""
        with self._lock:
            conn = self._connections.get(serial)
        return conn is None or conn.closed.wait(timeout)

    # -- the server --------------------------------------------------------------------------

    def _accept_loop(self) -> None:
        assert self._listener is not None
        while not self._stopping.is_set():
            try:
                sock, (_, peer_port) = self._listener.accept()
            except TimeoutError:
                continue
            except OSError as exc:
                if not self._stopping.is_set():
                    self.errors.append(exc)
                return
            sock.settimeout(None)
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            with self._lock:
                self._serial += 1
                conn = _Connection(self._serial, sock, peer_port)
                self._connections[conn.serial] = conn
                conn.thread = threading.Thread(
                    target=self._serve_connection,
                    args=(conn,),
                    name=f"loopback-conn-{conn.serial}",
                    daemon=True,
                )
            if self._stopping.is_set():
                # stop() may have snapshotted the connections before this one was added.
                sock.close()
                conn.closed.set()
                continue
            conn.thread.start()

    def _serve_connection(self, conn: _Connection) -> None:
        sock = conn.sock
        buffer = b""
        try:
            while not self._stopping.is_set():
                request, buffer = self._read_request(conn, buffer)
                if request is None:
                    return
                keep_open = self._answer(conn, request)
                if not keep_open or request.headers.get("connection", "").lower() == "close":
                    return
        except Exception as exc:  # a server bug: fail the test, never an unhandled thread error
            if not self._stopping.is_set():
                self.errors.append(exc)
        finally:
            try:
                sock.close()
            finally:
                conn.closed.set()

    def _recv(self, sock: socket.socket) -> bytes:
        """The next bytes from the client; ``b""`` when it hung up or the server is stopping."""
        while not self._stopping.is_set():
            ready, _, _ = select.select([sock], [], [], _POLL)
            if not ready:
                continue
            try:
                return sock.recv(65536)
            except (ConnectionResetError, BrokenPipeError):
                return b""
            except OSError:
                if self._stopping.is_set():
                    return b""
                raise
        return b""

    def _read_request(self, conn: _Connection, buffer: bytes) -> tuple[Recorded | None, bytes]:
        while b"\r\n\r\n" not in buffer:
            if len(buffer) > _MAX_HEAD:
                raise ValueError("request head too large")
            chunk = self._recv(conn.sock)
            if not chunk:
                return None, b""
            buffer += chunk
        head, buffer = buffer.split(b"\r\n\r\n", 1)
        lines = head.decode("latin-1").split("\r\n")
        method, target, version = lines[0].split(" ")
        if version != "HTTP/1.1":
            raise ValueError(f"unexpected HTTP version {version!r}")
        headers: dict[str, str] = {}
        for line in lines[1:]:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        if "transfer-encoding" in headers:
            raise ValueError("chunked request bodies are not supported by this test server")
        length = int(headers.get("content-length", "0"))
        while len(buffer) < length:
            chunk = self._recv(conn.sock)
            if not chunk:
                return None, b""
            buffer += chunk
        buffer = buffer[length:]  # GET requests carry no body; a body would be ignored
        path, _, raw_query = target.partition("?")
        request = Recorded(
            method=method,
            target=target,
            path=path,
            raw_query=raw_query,
            query=parse_qs(raw_query, keep_blank_values=True),
            headers=headers,
            peer_port=conn.peer_port,
            connection=conn.serial,
            received_at=time.monotonic(),
        )
        with self._lock:
            self.requests.append(request)
        return request, buffer

    def _next_behaviour(self, request: Recorded) -> Reply | None:
        with self._lock:
            script = self._scripts.get(request.path)
            if script is None:
                self.unscripted.append(request)
                behaviour: Behaviour | None = None
            else:
                behaviour = script.pop(0) if len(script) > 1 else script[0]
        if behaviour is None:
            return None
        return behaviour(request) if callable(behaviour) else behaviour

    def _hold(self, sock: socket.socket, seconds: float) -> bool:
        """Hold the answer back; ``False`` if the client hung up or the server stops meanwhile."""
        deadline = time.monotonic() + seconds
        while (left := deadline - time.monotonic()) > 0:
            if self._stopping.is_set():
                return False
            ready, _, _ = select.select([sock], [], [], min(left, _POLL))
            if ready:
                try:
                    if sock.recv(1, socket.MSG_PEEK) == b"":
                        return False
                except OSError:
                    return False
                time.sleep(min(left, _POLL))  # pipelined bytes: not used by httpx; keep waiting
        return True

    def _answer(self, conn: _Connection, request: Recorded) -> bool:
        """Carry out the scripted behaviour; whether the connection stays open."""
        with self._lock:
            self._in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self._in_flight)
        try:
            behaviour = self._next_behaviour(request)
            if behaviour is None:
                behaviour = reply({"error": f"unscripted request {request.path}"}, 418)
            if behaviour.delay and not self._hold(conn.sock, behaviour.delay):
                return False
            if behaviour.kind == "drop":
                return False
            body = behaviour.body
            try:
                reason = HTTPStatus(behaviour.status).phrase
            except ValueError:
                reason = "Unknown"
            head = [f"HTTP/1.1 {behaviour.status} {reason}"]
            head += [f"{name}: {value}" for name, value in behaviour.headers]
            head.append(f"Content-Length: {len(body)}")
            if behaviour.kind == "truncate":
                body = body[: len(body) // 2]
            data = ("\r\n".join(head) + "\r\n\r\n").encode("latin-1") + body
            try:
                conn.sock.sendall(data)
            except OSError:
                return False
            return behaviour.kind == "respond"
        finally:
            with self._lock:
                self._in_flight -= 1
