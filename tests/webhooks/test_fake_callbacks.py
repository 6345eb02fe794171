"""The fake calls back: a job's record POSTed to its replyUrl when it ends, with fault switches."""

from __future__ import annotations

import json
import time
from typing import Any

import anyio
import httpx
import pytest

from pixverse_speech import AsyncSpeechAPI
from pixverse_speech.testing import DEFAULT_VOICE_ID, FakeClock, FakeSpeechAPI, RealClock
from pixverse_speech.webhooks import WebhookHub

from ._support import Heard, bind_loopback, eventually, serve_asgi

pytestmark = pytest.mark.anyio


class Receiver:
    """An ASGI app that records every POST it gets (path with query, and JSON body)."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, dict[str, Any]]] = []

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        assert scope["type"] == "http"
        body = b""
        more = True
        while more:
            message = await receive()
            body += message.get("body", b"")
            more = message.get("more_body", False)
        query = scope["query_string"].decode()
        self.calls.append((scope["path"] + ("?" + query if query else ""), json.loads(body)))
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    async def until(self, count: int) -> None:
        await eventually(lambda: len(self.calls) >= count)


async def _settled(fake: FakeSpeechAPI) -> None:
    assert await eventually(lambda: fake.pending_callbacks == 0)


def _in_process(receiver: Any, **kwargs: Any) -> FakeSpeechAPI:
    kwargs.setdefault("clock", FakeClock())
    return FakeSpeechAPI(callback_transport=httpx.ASGITransport(receiver), **kwargs)


async def test_a_created_job_calls_back_with_its_record_when_it_ends() -> None:
    """POST speech/create with replyUrl: at the job's end the fake POSTs the GET record there."""
    receiver = Receiver()
    fake = _in_process(receiver, queued_for=1, generating_for=4)
    async with AsyncSpeechAPI(
        fake.token, base_url="http://fake/v2/", transport=fake.transport()
    ) as api:
        created = await api.create(
            "Hello.", DEFAULT_VOICE_ID, reply_url="https://hooks.example/speech?x=1"
        )
        fake.clock.advance(4.9)
        await anyio.sleep(0.05)  # the sender looks every few ms: it must not call early
        assert receiver.calls == []
        assert fake.pending_callbacks == 1
        fake.clock.advance(0.1)
        await receiver.until(1)
    assert receiver.calls == [("/speech?x=1", fake.job(created.audio_id or ""))]
    assert receiver.calls[0][1]["audio_status_name"] == "COMPLETED"
    [sent] = fake.callbacks
    assert (sent.outcome, sent.status, sent.copy) == ("sent", 200, 0)


async def test_a_failed_job_calls_back_too() -> None:
    """A job that ends FAILED is called back with its FAILED record, fail_reason included."""
    receiver = Receiver()
    fake = _in_process(receiver)
    fake.add_job(outcome="failed", fail_reason="nope", reply_url="http://hooks.example/")
    fake.clock.advance(60)
    await receiver.until(1)
    body = receiver.calls[0][1]
    assert (body["audio_status_name"], body["fail_reason"]) == ("FAILED", "nope")


async def test_callbacks_can_be_dropped() -> None:
    """drop=1: no callback is made, each recorded as dropped."""
    receiver = Receiver()
    fake = _in_process(receiver)
    fake.configure_callbacks(drop=1.0)
    for _ in range(3):
        fake.add_job(reply_url="http://hooks.example/")
    fake.clock.advance(60)
    await _settled(fake)
    assert receiver.calls == []
    assert [c.outcome for c in fake.callbacks] == ["dropped"] * 3


async def test_callbacks_can_be_duplicated() -> None:
    """duplicates=2: each callback is POSTed three times, copies numbered 0, 1, 2."""
    receiver = Receiver()
    fake = _in_process(receiver)
    fake.configure_callbacks(duplicates=2)
    audio_id = fake.add_job(reply_url="http://hooks.example/")
    fake.clock.advance(60)
    await receiver.until(3)
    await _settled(fake)
    assert [body["audio_id"] for _, body in receiver.calls] == [audio_id] * 3
    assert sorted(c.copy for c in fake.callbacks) == [0, 1, 2]


async def test_callbacks_can_be_delayed() -> None:
    """delay=30: the callback comes 30 clock seconds after the job ended, not before."""
    receiver = Receiver()
    fake = _in_process(receiver, queued_for=1, generating_for=4)
    fake.configure_callbacks(delay=30)
    fake.add_job(reply_url="http://hooks.example/")
    fake.clock.advance(34)
    await anyio.sleep(0.05)
    assert receiver.calls == []
    fake.clock.advance(1)
    await receiver.until(1)
    assert fake.callbacks[0].time >= 35


async def test_only_loopback_is_called_without_a_transport() -> None:
    """Without callback_transport a non-loopback replyUrl is refused and never contacted."""
    fake = FakeSpeechAPI(clock=FakeClock())
    fake.add_job(reply_url="https://app.example.com/hooks")
    assert fake.pending_callbacks == 0
    [refused] = fake.callbacks
    assert refused.outcome == "refused"
    assert "loopback" in (refused.error or "")


async def test_a_served_hub_hears_the_fake_over_a_socket() -> None:
    """On a fast real clock, the fake calls a hub served by uvicorn on 127.0.0.1."""
    sock, origin = bind_loopback()
    hub = WebhookHub(origin + "/hooks/speech", secret="s3cret")
    heard = Heard()
    hub.add_listener(heard)
    fake = FakeSpeechAPI(clock=RealClock(speed=50), queued_for=1, generating_for=4)
    with serve_asgi(hub.app, sock):
        ids = [fake.add_job(reply_url=hub.reply_url(f"job-{n}")) for n in range(3)]
        assert sorted(await heard.until(3)) == sorted(ids)
        await _settled(fake)
    assert {c.status for c in fake.callbacks} == {200}


def test_a_receiver_that_is_down_is_recorded_as_failed() -> None:
    """A callback nobody answers is recorded as failed with the error, not raised anywhere."""
    sock, origin = bind_loopback()
    sock.close()  # nothing listens there
    fake = FakeSpeechAPI(clock=RealClock(speed=1000), queued_for=0, generating_for=0)
    fake.add_job(reply_url=origin + "/hooks")
    for _ in range(1000):
        if fake.callbacks:
            break
        time.sleep(0.01)
    [failed] = fake.callbacks
    assert failed.outcome == "failed"
    assert "ConnectError" in (failed.error or "")


@pytest.mark.parametrize(
    ("kwargs", "name"),
    [
        ({"drop": 1.5}, "drop"),
        ({"drop": -0.1}, "drop"),
        ({"delay": -1}, "delay"),
        ({"duplicates": -1}, "duplicates"),
        ({"duplicates": 1.5}, "duplicates"),
    ],
)
def test_bad_switches_are_refused(kwargs: dict[str, Any], name: str) -> None:
    """configure_callbacks refuses values out of range with a ValueError naming them."""
    with pytest.raises(ValueError, match=name):
        FakeSpeechAPI().configure_callbacks(**kwargs)


def test_bad_callback_settings_are_refused() -> None:
    """A non-transport callback_transport, a relative reply_url and a zero clock speed raise."""
    with pytest.raises(TypeError, match="callback_transport"):
        FakeSpeechAPI(callback_transport="http://x")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="reply_url"):
        FakeSpeechAPI().add_job(reply_url="/hooks")
    with pytest.raises(ValueError, match="speed"):
        RealClock(speed=0)
