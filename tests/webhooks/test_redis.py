"""Callbacks shared through a real Redis: fan-out between hubs, outages, reconnecting."""

from __future__ import annotations

import logging

import anyio
import httpx
import pytest

from pixverse_speech.webhooks import WebhookHub, _redis

from ._support import Heard, RedisServer, eventually
from .conftest import ServeHub

pytestmark = pytest.mark.anyio


def _outage_warnings(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [
        r
        for r in caplog.records
        if r.levelno == logging.WARNING
        and r.name.startswith("pixverse_speech")
        and "unreachable" in r.getMessage()
    ]


async def _until_connected(hub: WebhookHub, connected: bool = True) -> None:
    assert await eventually(lambda: hub.redis_connected is connected, 15)


async def _post(url: str, audio_id: str) -> int:
    async with httpx.AsyncClient() as http:
        return (await http.post(url, json={"audio_id": audio_id})).status_code


async def test_a_callback_reaches_every_hub_once(
    served_hub: ServeHub, redis_server: RedisServer
) -> None:
    """A callback received by hub A is heard once by A's listeners and once by B's, via Redis."""
    heard_a, heard_b = Heard(), Heard()
    with served_hub(secret="s3cret", redis_url=redis_server.url) as hub_a:
        hub_b = WebhookHub(hub_a.url, secret="s3cret", redis_url=redis_server.url)
        async with hub_a, hub_b:
            assert hub_a.redis_connected
            assert hub_b.redis_connected
            hub_a.add_listener(heard_a)
            hub_b.add_listener(heard_b)
            for audio_id in ("job-1", "job-2"):
                assert await _post(hub_a.reply_url(), audio_id) == 200
            assert await heard_b.until(2) == ["job-1", "job-2"]
            await anyio.sleep(0.1)  # time for a second, wrong delivery to show up
            assert heard_a.ids == ["job-1", "job-2"]
            assert heard_b.ids == ["job-1", "job-2"]


async def test_a_forged_callback_is_not_published(
    served_hub: ServeHub, redis_server: RedisServer
) -> None:
    """A callback refused with 401 reaches no hub, here or through Redis."""
    heard_b = Heard()
    with served_hub(secret="s3cret", redis_url=redis_server.url) as hub_a:
        hub_b = WebhookHub(hub_a.url, secret="s3cret", redis_url=redis_server.url)
        async with hub_a, hub_b:
            hub_b.add_listener(heard_b)
            assert await _post(hub_a.url, "forged") == 401
            assert await _post(hub_a.reply_url(), "real") == 200
            assert await heard_b.until(1) == ["real"]


async def test_redis_down_at_start(
    served_hub: ServeHub, redis_server: RedisServer, caplog: pytest.LogCaptureFixture
) -> None:
    """Redis down at start: the hub opens, warns once, delivers locally, and connects later."""
    caplog.set_level(logging.DEBUG, logger="pixverse_speech")
    redis_server.kill()
    heard_a, heard_b = Heard(), Heard()
    with served_hub(redis_url=redis_server.url) as hub_a:
        hub_b = WebhookHub(hub_a.url, redis_url=redis_server.url)
        async with hub_a, hub_b:  # does not raise
            assert not hub_a.redis_connected
            hub_a.add_listener(heard_a)
            hub_b.add_listener(heard_b)
            assert await _post(hub_a.url, "local") == 200
            assert await heard_a.until(1) == ["local"]
            await anyio.sleep(0.5)  # several reconnect attempts fail meanwhile
            assert len(_outage_warnings(caplog)) == 2  # one per hub, not one per attempt
            redis_server.start()
            await _until_connected(hub_a)
            await _until_connected(hub_b)
            assert await _post(hub_a.url, "shared") == 200
            assert await heard_b.until(1) == ["shared"]
    assert len(_outage_warnings(caplog)) == 2


async def test_redis_lost_and_back(
    served_hub: ServeHub, redis_server: RedisServer, caplog: pytest.LogCaptureFixture
) -> None:
    """Redis killed: one WARNING per outage, local delivery goes on; back: sharing resumes."""
    caplog.set_level(logging.DEBUG, logger="pixverse_speech")
    heard_a, heard_b = Heard(), Heard()
    with served_hub(redis_url=redis_server.url) as hub_a:
        hub_b = WebhookHub(hub_a.url, redis_url=redis_server.url)
        async with hub_a, hub_b:
            hub_a.add_listener(heard_a)
            hub_b.add_listener(heard_b)
            for outage in (1, 2):
                redis_server.kill()
                await _until_connected(hub_a, False)
                assert await _post(hub_a.url, f"during-{outage}") == 200
                assert f"during-{outage}" in await heard_a.until(2 * outage - 1)
                await anyio.sleep(0.3)  # reconnect attempts fail meanwhile
                assert len(_outage_warnings(caplog)) == 2 * outage  # hub A and hub B, once each
                redis_server.start()
                await _until_connected(hub_a)
                await _until_connected(hub_b)
                assert await _post(hub_a.url, f"after-{outage}") == 200
                assert f"after-{outage}" in await heard_b.until(outage)
            assert heard_b.ids == ["after-1", "after-2"]  # nothing from the outages


async def test_a_hung_redis_is_noticed_and_left_behind(
    served_hub: ServeHub,
    redis_server: RedisServer,
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Redis that stops answering (sockets open) is noticed by the heartbeat: one WARNING."""
    monkeypatch.setattr(_redis, "HEARTBEAT", 0.2)
    caplog.set_level(logging.DEBUG, logger="pixverse_speech")
    with served_hub(redis_url=redis_server.url) as hub:
        async with hub:
            assert hub.redis_connected
            redis_server.pause()
            try:
                # The heartbeat's PING times out after the 2 s socket timeout.
                assert await eventually(lambda: len(_outage_warnings(caplog)) == 1, 4.5)
                assert not hub.redis_connected
            finally:
                redis_server.resume()
            assert await eventually(lambda: hub.redis_connected, 20)
    assert len(_outage_warnings(caplog)) == 1
