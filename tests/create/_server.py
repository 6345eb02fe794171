"""A tiny scripted HTTP/1.1 server on 127.0.0.1, built on the standard library's ``http.server``.

Each test scripts answers per ``(method, path)`` as a list of actions; each request takes the next
action (the last one repeats).  Every request that arrived is recorded with its headers and its
complete body, so tests can count what the server really received.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

__all__ = ["Recorded", "StdlibServer", "drop", "json_reply", "raw_reply", "truncated"]


@dataclass(frozen=True)
class Recorded:
    """One request as the server read it."""

    method: str
    path: str
    headers: dict[str, str]
    body: bytes


Action = Callable[[BaseHTTPRequestHandler], None]


def raw_reply(body: bytes, status: int = 200, content_type: str = "audio/mpeg") -> Action:
    """Answer ``status`` with ``body`` and its Content-Length."""

    def act(handler: BaseHTTPRequestHandler) -> None:
        handler.send_response(status)
        handler.send_header("Content-Type", content_type)
        handler.send_header("Content-Length", str(len(body)))
        handler.end_headers()
        handler.wfile.write(body)

    return act


def json_reply(payload: Any, status: int = 200) -> Action:
    """Answer ``status`` with ``payload`` as JSON."""
    return raw_reply(json.dumps(payload).encode(), status, "application/json")


def drop(handler: BaseHTTPRequestHandler) -> None:
    """Close the connection after the whole request was read, without a byte of answer."""
    handler.close_connection = True


def truncated(body: bytes) -> Action:
    """Announce all of ``body`` but send only half of it, then close the connection."""

    def act(handler: BaseHTTPRequestHandler) -> None:
        handler.send_response(200)
        handler.send_header("Content-Type", "audio/mpeg")
        handler.send_header("Content-Length", str(len(body)))
        handler.end_headers()
        handler.wfile.write(body[: len(body) // 2])
        handler.wfile.flush()
        handler.close_connection = True

    return act


class StdlibServer:
    """The server, serving from a background thread between :meth:`start` and :meth:`stop`."""

    def __init__(self) -> None:
        self.script: dict[tuple[str, str], list[Action]] = {}
        self.requests: list[Recorded] = []
        self.errors: list[str] = []
        self._lock = threading.Lock()
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), self._handler_class())
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True
        )

    @property
    def url(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host!s}:{port}"

    def on(self, method: str, path: str, *actions: Action) -> None:
        """Script the answers to ``method path``."""
        self.script[(method, path)] = list(actions)

    def received(self, method: str, path: str) -> list[Recorded]:
        """The requests for ``method path`` that arrived, in order."""
        with self._lock:
            return [r for r in self.requests if (r.method, r.path) == (method, path)]

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(timeout=5)

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            timeout = 5

            def log_message(self, format: str, *args: Any) -> None:
                pass

            def _serve(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                record = Recorded(self.command, self.path, dict(self.headers.items()), body)
                with server._lock:
                    server.requests.append(record)
                    actions = server.script.get((self.command, self.path))
                    action = None
                    if actions:
                        action = actions.pop(0) if len(actions) > 1 else actions[0]
                if action is None:
                    server.errors.append(f"unscripted {self.command} {self.path}")
                    json_reply({"error": "unscripted"}, 418)(self)
                    return
                try:
                    action(self)
                except OSError:  # the client hung up first: not the server's error
                    self.close_connection = True

            do_GET = _serve
            do_POST = _serve

        return Handler
