"""A minimal HTTP/1.1 keep-alive server with the fake API's bodies, pre-serialised, for benchmarks.

    python benchmarks/serve_raw.py [--jobs 50] [--cpu 0] [--port 0]

Clients are measured against it, not the server: it answers from bytes made once at start (the
fake API's own record and 50-record page), on a bare ``asyncio.Protocol``, so that it spends a
few µs per request where uvicorn and the fake spend hundreds.  Routes: ``GET
/v2/pixverse/speech/?...`` answers the page, ``GET /v2/pixverse/speech/{id}`` the record, a
request without the token 401, ``GET /__cpu`` the server's own CPU seconds so far
(``time.process_time()``, to the µs where ``/proc`` counts 10 ms ticks), anything else 404.
Pinned to CPU ``--cpu`` where the machine has more than one.  Prints one JSON line
(``base_url``, ``token``, ``email``, ``audio_ids``, ``pid``, ``pinned_cpu``) once it listens,
then serves until stdin closes; the benchmark asks it for its CPU time around every measured run
and fails when the server was the limit.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import time

from serve_fake import EMAIL, TOKEN, pin

from pixverse_speech.testing import FakeClock, FakeSpeechAPI


def bodies(jobs: int) -> tuple[bytes, bytes, list[str]]:
    """(one record, a page of ``jobs`` records, their ids), as the fake API serves them."""
    fake = FakeSpeechAPI(token=TOKEN, accounts=(EMAIL,), clock=FakeClock())
    ids = [fake.add_job(queued_for=0, generating_for=0) for _ in range(jobs)]

    async def fetch() -> tuple[bytes, bytes]:
        headers = {"Authorization": f"Bearer {TOKEN}"}
        async with fake.http_client(headers=headers) as http:
            record = await http.get(f"pixverse/speech/{ids[0]}")
            page = await http.get(f"pixverse/speech/?email={EMAIL}&limit={jobs}")
            return record.content, page.content

    record, page = asyncio.run(fetch())
    return record, page, ids


def _response(status: bytes, body: bytes) -> bytes:
    head = (
        b"HTTP/1.1 " + status + b"\r\ncontent-type: application/json\r\n"
        b"content-length: " + str(len(body)).encode() + b"\r\n\r\n"
    )
    return head + body


class _Protocol(asyncio.Protocol):
    """One connection: requests parsed just enough to route them, answered in order."""

    def __init__(self, record: bytes, page: bytes, token: bytes) -> None:
        self._record = record
        self._page = page
        self._token = token
        self._buffer = b""
        self._transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self._transport = transport

    def data_received(self, data: bytes) -> None:
        self._buffer += data
        out = []
        while True:
            end = self._buffer.find(b"\r\n\r\n")
            if end < 0:
                break
            head = self._buffer[:end]
            length = 0
            lower = head.lower()
            at = lower.find(b"\r\ncontent-length:")
            if at >= 0:
                line_end = lower.find(b"\r\n", at + 2)
                length = int(lower[at + 17 : line_end if line_end >= 0 else None])
            if len(self._buffer) < end + 4 + length:
                break
            self._buffer = self._buffer[end + 4 + length :]
            target = head.split(b" ", 2)[1]
            if target == b"/__cpu":
                out.append(_response(b"200 OK", repr(time.process_time()).encode()))
            elif self._token not in head:
                out.append(_UNAUTHORIZED)
            elif target.startswith(b"/v2/pixverse/speech/?"):
                out.append(self._page)
            elif target.startswith(b"/v2/pixverse/speech/") and len(target) > 20:
                out.append(self._record)
            else:
                out.append(_NOT_FOUND)
        if out and self._transport is not None:
            self._transport.write(b"".join(out))


_UNAUTHORIZED = _response(b"401 Unauthorized", b'{"error":"Unauthorized","code":401}')
_NOT_FOUND = _response(b"404 Not Found", b'{"error":"Not found","code":404}')


async def serve(record: bytes, page: bytes, ids: list[str], port: int, pinned: int | None) -> None:
    record_response = _response(b"200 OK", record)
    page_response = _response(b"200 OK", page)
    token = f"Bearer {TOKEN}".encode()
    loop = asyncio.get_running_loop()
    server = await loop.create_server(
        lambda: _Protocol(record_response, page_response, token), "127.0.0.1", port, backlog=2048
    )
    bound = server.sockets[0].getsockname()[1]
    ready = {
        "base_url": f"http://127.0.0.1:{bound}/v2/",
        "token": TOKEN,
        "email": EMAIL,
        "audio_ids": ids,
        "pid": os.getpid(),
        "pinned_cpu": pinned,
        "reports_cpu": True,
    }
    print(json.dumps(ready), flush=True)
    # Until the parent closes our stdin (or kills us).
    await loop.run_in_executor(None, sys.stdin.read)
    server.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=50)
    parser.add_argument("--cpu", type=int, default=0)
    parser.add_argument("--port", type=int, default=0)
    args = parser.parse_args(argv)
    pinned = args.cpu if pin(args.cpu) else None
    record, page, ids = bodies(args.jobs)
    asyncio.run(serve(record, page, ids, args.port, pinned))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
