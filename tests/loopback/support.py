"""Helpers shared by the loopback tests: the token, job records, a client factory, leak checks."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

import httpx
import pytest

from pixverse_speech import AsyncSpeechAPI

from .server import LoopbackServer

#: A token shaped like the real ones.  Its secret part must never show in an error or a log line.
SECRET = "LoopbackS3cretT0kenValue9x"
TOKEN = f"user:777-{SECRET}"
#: Every window of this many characters of the secret part counts as a leak.
_LEAK_WINDOW = 8

SPEECH_PATH = "/v2/pixverse/speech/"
AUDIO_ID = "user:1234-pixverse:someone@example.com-speech:11223344"

_STATUS_NAMES = {1: "COMPLETED", 5: "QUEUED", 8: "FAILED", 10: "GENERATING"}


#: The transport of the clients :func:`client` makes: ``None`` (httpx's own) or ``"aiohttp"``.  The
#: conftest sets it for each test from the test's parametrization.
TRANSPORT: str | None = None


def client(server: LoopbackServer, **kwargs: Any) -> AsyncSpeechAPI:
    """A client for ``server`` on the test's transport; tests name the timeout and retries.

    ``token`` defaults to :data:`TOKEN` (pass ``None`` to read the environment).
    """
    kwargs.setdefault("token", TOKEN)
    kwargs.setdefault("timeout", 5.0)
    kwargs.setdefault("max_retries", 0)
    if "http_client" not in kwargs:
        kwargs.setdefault("transport", TRANSPORT)
    return AsyncSpeechAPI(base_url=f"http://127.0.0.1:{server.port}/v2/", **kwargs)


def http_client() -> httpx.AsyncClient:
    """A plain ``httpx.AsyncClient`` on the test's transport, as a user would make one."""
    if TRANSPORT == "aiohttp":
        from pixverse_speech._aiohttp import AiohttpTransport

        return httpx.AsyncClient(transport=AiohttpTransport())
    return httpx.AsyncClient()


def speech_url(raw_audio_id: str) -> str:
    """The raw request path of GET speech/{audio_id}, the id already encoded as expected."""
    return SPEECH_PATH + raw_audio_id


def record(audio_id: str = AUDIO_ID, status: int = 1, **extra: Any) -> dict[str, Any]:
    """A job record shaped like the documented 200 of GET speech/{audio_id}."""
    data: dict[str, Any] = {
        "audio_id": audio_id,
        "asset_id": 11223344,
        "audio_status": status,
        "status": "finish" if status == 1 else "processing",
        "create_mode": "voice",
        "provider": "minimax",
        "model": "speech-2.8-hd",
        "voice_id": "minimax_english_radiant_girl",
        "voice_name": "Radiant Girl",
        "language_code": "en",
        "prompt": "May the Force be with you.",
        "url": "https://media.pixverse.ai/pixverse/audio/speech/11223344.mp3",
        "name": "PixVerse_Speech_11223344.mp3",
        "duration": 3,
        "credits": 1,
        "created_at": "2026-06-23T12:34:56Z",
        "updated_at": "2026-06-23T12:35:06Z",
        "audio_status_name": _STATUS_NAMES.get(status, "UNKNOWN"),
        "audio_status_final": status in (1, 8),
    }
    data.update(extra)
    return data


def assert_no_token_in(text: str) -> None:
    assert TOKEN not in text, f"token leaked: {text!r}"
    for i in range(len(SECRET) - _LEAK_WINDOW + 1):
        fragment = SECRET[i : i + _LEAK_WINDOW]
        assert fragment not in text, f"part of the token ({fragment!r}) leaked: {text!r}"


def assert_no_token(exc: BaseException) -> None:
    """Neither ``exc`` nor anything it chains to shows the token in its message or repr."""
    seen: set[int] = set()
    todo: list[BaseException | None] = [exc]
    while todo:
        current = todo.pop()
        if current is None or id(current) in seen:
            continue
        seen.add(id(current))
        assert_no_token_in(str(current))
        assert_no_token_in(repr(current))
        for arg in current.args:
            assert_no_token_in(str(arg))
        message = getattr(current, "message", None)
        if isinstance(message, str):
            assert_no_token_in(message)
        last_error = getattr(current, "last_error", None)
        if isinstance(last_error, BaseException):
            todo.append(last_error)
        todo += [current.__cause__, current.__context__]


E = TypeVar("E", bound=BaseException)


@contextmanager
def raises(expected: type[E]) -> Iterator[pytest.ExceptionInfo[E]]:
    """``pytest.raises`` that also checks the raised error never shows the token."""
    with pytest.raises(expected) as caught:
        yield caught
    assert_no_token(caught.value)
