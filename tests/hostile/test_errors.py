"""Items 13 and 14: errors that survive pickling without the token; one client, one event loop."""

from __future__ import annotations

import inspect
import io
import pickle
import threading
from pathlib import Path
from typing import Any

import anyio
import anyio.to_thread
import pytest

import pixverse_speech
from pixverse_speech import AsyncSpeechAPI, AudioStatus, Speech, SpeechError

from ._server import Reply, Request, head
from ._support import AUDIO_ID, PLAIN_ID, as_json, json_reply, path_of, record
from .conftest import TOKEN, assert_no_token_in

STATUSES = {
    "bad": 400,
    "auth": 401,
    "pay": 402,
    "gone": 404,
    "credits": 412,
    "moderated": 422,
    "busy": 429,
    "down": 503,
    "account": 596,
    "teapot": 418,
}


async def hostile(request: Request, reply: Reply) -> bool:
    """Every kind of failure, each echoing the token where it can."""
    path = path_of(request)
    name = path.rsplit("/", 1)[-1]
    if name in STATUSES:
        body = {"error": f"no luck for {TOKEN}", "code": STATUSES[name], "echo": {"t": TOKEN}}
        await reply.respond(
            STATUSES[name], as_json(body), {"Content-Type": "application/json", "Retry-After": "2"}
        )
        return True
    if name == "notjson":
        await reply.respond(200, f"<html>{TOKEN}</html>".encode(), {"Content-Type": "text/html"})
        return True
    if name == "drop":
        return False
    if name == "slow":
        await reply.send(head(200, {"Content-Length": "100"}))
        await reply.hold(10)
        return False
    if name == "create":
        return await json_reply(reply, {"audio_id": "user:1-pixverse:a@b.c-speech:9"})
    if name in ("failed", "user:1-pixverse:a@b.c-speech:9"):
        return await json_reply(
            reply, record(name, 8, fail_code="E1", fail_reason="voice unavailable")
        )
    if name == PLAIN_ID:
        return await json_reply(reply, record(PLAIN_ID, 10))
    if path == "/v2/pixverse/speech/":
        page = {"data": [record("job-1")], "has_more": True, "next_offset": 0}
        return await json_reply(reply, page)
    if name == "big.mp3":
        await reply.respond(200, b"x" * 5000, {"Content-Type": "audio/mpeg"})
        return True
    await reply.respond(404, b"", {"Content-Type": "audio/mpeg"})
    return True


async def collect(api: AsyncSpeechAPI, server: Any, tmp_path: Path) -> list[SpeechError]:
    """One real error of each public type, raised by the client against the hostile server."""
    errors: list[SpeechError] = []

    async def catch(call: Any) -> None:
        try:
            await call
        except SpeechError as exc:
            errors.append(exc)
        else:  # pragma: no cover - every call here fails
            raise AssertionError("expected an error")

    for name in [*STATUSES, "notjson", "drop", "slow"]:
        await catch(api.get(name))
    await catch(api.wait_until_final("failed"))
    await catch(api.wait_until_final(PLAIN_ID, timeout=5))
    await catch(api.generate("Hello.", "voice", resubmit=0))

    def refuse(index: int, audio_id: str) -> None:
        raise RuntimeError(f"cannot record {audio_id}")

    # A callback that raises ends the batch as a whole: BatchGenerationError.
    await catch(api.generate_many(["Hello."], voice_id="voice", on_created=refuse))
    done = Speech(
        audio_id=AUDIO_ID,
        audio_status=AudioStatus.COMPLETED,
        audio_status_final=True,
        url=server.url("/media/big.mp3"),
        file_size=10,
    )
    await catch(api.download(done, io.BytesIO()))
    await catch(api.download(Speech(audio_id=AUDIO_ID), io.BytesIO()))
    await catch(api.download(server.url("/media/none.mp3"), io.BytesIO()))
    await catch(api.download(server.url("/media/big.mp3"), tmp_path / "missing" / "a.mp3"))

    async def walk() -> None:
        async for _ in api.iter_speech(page_size=1):
            pass

    await catch(walk())  # a listing that does not advance: a plain SpeechError
    return errors


def public_attributes(error: SpeechError) -> dict[str, Any]:
    return {
        name: str(value) if isinstance(value, BaseException) else value
        for name, value in vars(error).items()
        if name != "response"
    }


@pytest.mark.anyio
async def test_every_public_error_survives_pickling_without_the_token(
    serve: Any, client: Any, tmp_path: Path
) -> None:
    """Each public error type, raised for real, pickles whole, and no pickle holds the token."""
    server = serve(hostile)
    async with client(server, timeout=0.5) as api:
        with anyio.fail_after(20):
            errors = await collect(api, server, tmp_path)
    public = {
        obj
        for obj in vars(pixverse_speech).values()
        if inspect.isclass(obj) and issubclass(obj, SpeechError)
    }
    assert {type(error) for error in errors} >= public, "a type is missing"
    for error in errors:
        data = pickle.dumps(error)
        assert_no_token_in(data)
        copy = pickle.loads(data)
        assert type(copy) is type(error)
        assert str(copy) == str(error)
        assert public_attributes(copy) == public_attributes(error)
        if hasattr(error, "response"):
            assert copy.response is None


# -- item 14 ---------------------------------------------------------------------------------------


def test_a_client_refuses_a_second_event_loop(
    serve: Any, backend_and_transport: tuple[str, str | None]
) -> None:
    """Used from a second event loop, a client raises a clear RuntimeError and sends nothing."""
    backend, transport = backend_and_transport

    async def handler(request: Request, reply: Reply) -> bool:
        return await json_reply(reply, record())

    server = serve(handler)
    api = AsyncSpeechAPI(TOKEN, base_url=server.base_url, transport=transport, max_retries=0)
    used = threading.Event()
    done = threading.Event()
    failures: list[BaseException] = []

    async def first_loop() -> None:
        # Stays alive while the second loop tries, then closes the client where it belongs.
        try:
            await api.get(AUDIO_ID)
        finally:
            used.set()
            await anyio.to_thread.run_sync(done.wait, 10)
            await api.aclose()

    def run_first() -> None:
        try:
            anyio.run(first_loop, backend=backend)
        except BaseException as exc:  # reported by the test below
            failures.append(exc)

    thread = threading.Thread(target=run_first)
    thread.start()
    try:
        assert used.wait(10)

        async def second_loop() -> None:
            with pytest.raises(RuntimeError, match="belongs to the event loop that first used it"):
                await api.get(AUDIO_ID)
            with pytest.raises(RuntimeError, match="belongs to the event loop"):
                await api.download(server.url("/media/a.mp3"), io.BytesIO())

        anyio.run(second_loop, backend=backend)
    finally:
        done.set()
        thread.join(10)
    assert not failures
    assert len(server.requests) == 1
