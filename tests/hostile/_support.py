"""Records, bodies and handlers shared by the hostile-server tests."""

from __future__ import annotations

import json
import zlib
from functools import cache
from typing import Any

from ._server import Reply, Request, head

AUDIO_ID = "user:777-pixverse:someone@example.com-speech:11223344"
#: An id outside the ``user:<n>-pixverse:<email>-speech:<n>`` form: batch waits poll it with get.
PLAIN_ID = "job-11223344"
SPEECH_PATH = "/v2/pixverse/speech/"


def record(audio_id: str = AUDIO_ID, status: int = 1, **extra: Any) -> dict[str, Any]:
    """A job record as GET speech/{audio_id} documents it."""
    data: dict[str, Any] = {
        "audio_id": audio_id,
        "audio_status": status,
        "audio_status_name": {1: "COMPLETED", 8: "FAILED"}.get(status, "GENERATING"),
        "audio_status_final": status in (1, 8),
        "prompt": "May the Force be with you.",
        "url": "https://media.pixverse.ai/pixverse/audio/speech/11223344.mp3",
        "duration": 3,
        "created_at": "2026-06-23T12:34:56Z",
    }
    data.update(extra)
    return data


def as_json(payload: Any) -> bytes:
    return json.dumps(payload).encode()


async def json_reply(reply: Reply, payload: Any, status: int = 200) -> bool:
    await reply.respond(status, as_json(payload), {"Content-Type": "application/json"})
    return True


@cache
def gzip_bomb(inflated: int) -> bytes:
    """``inflated`` zero bytes, gzipped (about a thousandth of the size)."""
    compressor = zlib.compressobj(9, zlib.DEFLATED, zlib.MAX_WBITS | 16)
    block = bytes(1 << 20)
    parts = [compressor.compress(block) for _ in range(inflated >> 20)]
    parts.append(compressor.flush())
    return b"".join(parts)


async def endless_chunked(reply: Reply, limit: int, content_type: str = "application/json") -> bool:
    """A chunked body that goes on for ``limit`` bytes (to keep the test bounded), never ending."""
    await reply.send(head(200, {"Content-Type": content_type, "Transfer-Encoding": "chunked"}))
    chunk = b"[" * 65536
    for _ in range(limit // len(chunk)):
        await reply.send(b"%x\r\n%s\r\n" % (len(chunk), chunk))
    return False


def path_of(request: Request) -> str:
    return request.target.partition("?")[0]
