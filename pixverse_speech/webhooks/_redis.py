"""The hub's link to Redis: every callback id one process receives, every process hears.

The link runs redis-py's asyncio client on an event loop of its own, on a thread that the hub's
task group starts and joins.  That keeps it independent of the app's event loop (asyncio or trio;
redis-py speaks asyncio only) and lets any thread publish without blocking: the ASGI server's,
or the app's.

Redis is a shortcut, never a dependency of a wait: while it is down, callbacks reach only the
process they land on, waits elsewhere end by their fallback polls, and the link logs one WARNING
per outage and reconnects by itself with the library's retry backoff.
"""

from __future__ import annotations

import asyncio
import json
import logging
import random
import threading
from collections.abc import Callable
from contextlib import suppress
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from .._retry import RetryPolicy

__all__ = ["RedisLink", "safe_redis_url"]

logger = logging.getLogger("pixverse_speech.webhooks")

#: How long one connect (and each command of the publisher) may take.
CONNECT_TIMEOUT = 2.0
#: Reconnect pauses: the library's retry backoff, from 0.1 s doubling to 5 s, jittered.
RECONNECT = RetryPolicy(initial_backoff=0.1, max_backoff=5.0)
#: Ids waiting to be published; a process receiving more callbacks than this at once while
#: Redis is slow drops the excess (the waits elsewhere then end by polling).
QUEUE_LIMIT = 10_000
_BATCH = 500
#: Seconds of quiet after which the link checks that Redis still answers.
HEARTBEAT = 5.0


def safe_redis_url(url: str) -> str:
    """``url`` without its credentials, fit for a log line or a repr."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    try:
        port = parts.port
    except ValueError:
        port = None
    netloc = f"{host}:{port}" if port is not None else host
    return urlunsplit((parts.scheme, netloc, parts.path, "", ""))


class RedisLink:
    """Publishes local callback ids to a channel and delivers the other processes' ones.

    :param deliver: called (on the link's thread) with each id another process published.
    :param origin: this hub's id; messages it published itself are not delivered again.
    """

    def __init__(
        self,
        url: str,
        *,
        channel: str,
        origin: str,
        deliver: Callable[[str], None],
    ) -> None:
        self._url = url
        self._channel = channel
        self._origin = origin
        self._deliver = deliver
        self._rng = random.Random()
        self._stopping = threading.Event()
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._main: asyncio.Task[None] | None = None
        self._queue: asyncio.Queue[str] | None = None
        self._thread = 0
        self._failures = 0  # connection attempts failed in a row: > 0 during an outage
        #: Set once the first connection attempt has succeeded or failed.
        self.first_attempt = threading.Event()
        self.connected = False
        #: How many outages have been logged (each once).
        self.outages = 0

    # -- any thread --------------------------------------------------------------------------

    def publish(self, audio_id: str) -> None:
        """Queue ``audio_id`` for the other processes; dropped while Redis is unreachable."""
        loop, queue = self._loop, self._queue
        if not self.connected or loop is None or queue is None:
            return
        message = json.dumps({"origin": self._origin, "audio_id": audio_id})

        def put() -> None:
            try:
                queue.put_nowait(message)
            except asyncio.QueueFull:
                logger.debug("webhook publish queue full; %s reaches this process only", audio_id)

        if threading.get_ident() == self._thread:
            put()
            return
        with suppress(RuntimeError):  # the loop closed: the hub is shutting down
            loop.call_soon_threadsafe(put)

    def stop(self) -> None:
        """Make :meth:`run` return soon."""
        self._stopping.set()
        with self._lock:
            loop, main = self._loop, self._main
        if loop is not None and main is not None:
            with suppress(RuntimeError):
                loop.call_soon_threadsafe(main.cancel)

    # -- the link's thread -------------------------------------------------------------------

    def run(self) -> None:
        """The thread's body: connect, relay, reconnect, until :meth:`stop`."""
        self._thread = threading.get_ident()
        loop = asyncio.new_event_loop()
        try:
            with suppress(asyncio.CancelledError):
                loop.run_until_complete(self._run())
        finally:
            self.connected = False
            self.first_attempt.set()
            with self._lock:
                self._loop = self._main = None
            loop.close()

    async def _run(self) -> None:
        with self._lock:
            self._loop = asyncio.get_running_loop()
            self._main = asyncio.current_task()
        self._queue = asyncio.Queue(QUEUE_LIMIT)
        while not self._stopping.is_set():
            try:
                await self._session()
            except Exception as exc:  # a lost broker must never end the link: log it, retry
                self.connected = False
                if self._failures == 0:
                    self.outages += 1
                    logger.warning(
                        "webhooks: Redis at %s is unreachable (%s: %s); callbacks reach only the "
                        "process they arrive at and waits fall back to polling until it is back",
                        safe_redis_url(self._url),
                        type(exc).__name__,
                        exc,
                    )
                else:
                    logger.debug("webhooks: Redis still unreachable: %s", exc)
                self.first_attempt.set()  # after the warning: whoever waited on it sees it logged
                pause = RECONNECT.backoff(self._failures, self._rng)
                self._failures += 1
            else:  # pragma: no cover - a session only ends by failing or by stop()
                pause = 0.0
            # Real time, not the library's switchable timing: a test that turns pauses off must
            # not turn this loop into a busy one hammering a dead broker.
            await asyncio.sleep(pause)

    async def _session(self) -> None:
        from redis.asyncio import Redis
        from redis.asyncio.retry import Retry
        from redis.backoff import NoBackoff

        # No retries inside redis-py: this link notices each failure and reconnects itself.
        common: dict[str, Any] = {
            "retry": Retry(NoBackoff(), 0),
            "socket_connect_timeout": CONNECT_TIMEOUT,
            "socket_keepalive": True,
        }
        subscriber = Redis.from_url(self._url, health_check_interval=10, **common)
        publisher = Redis.from_url(self._url, socket_timeout=CONNECT_TIMEOUT, **common)
        pubsub = subscriber.pubsub(ignore_subscribe_messages=True)
        try:
            await pubsub.subscribe(self._channel)
            await publisher.ping()
            self._up()
            reader = asyncio.ensure_future(self._read(pubsub))
            writer = asyncio.ensure_future(self._write(publisher))
            try:
                done, _ = await asyncio.wait({reader, writer}, return_when=asyncio.FIRST_COMPLETED)
            finally:
                reader.cancel()
                writer.cancel()
                await asyncio.gather(reader, writer, return_exceptions=True)
            for task in done:
                task.result()
            raise ConnectionError("the Redis link ended")  # pragma: no cover
        finally:
            self.connected = False
            for close in (pubsub.aclose, subscriber.aclose, publisher.aclose):
                with suppress(Exception):
                    await asyncio.wait_for(close(), CONNECT_TIMEOUT)

    def _up(self) -> None:
        if self._failures:
            self._failures = 0
            logger.info("webhooks: Redis at %s is reachable again", safe_redis_url(self._url))
        assert self._queue is not None
        # What queued up before the outage was meant for the old subscribers: let it go.
        while not self._queue.empty():
            self._queue.get_nowait()
        self.connected = True
        self.first_attempt.set()

    async def _read(self, pubsub: Any) -> None:
        while True:
            message = await pubsub.get_message(ignore_subscribe_messages=True, timeout=1.0)
            if message is None or message.get("type") != "message":
                continue
            audio_id = self._decode(message.get("data"))
            if audio_id is not None:
                self._deliver(audio_id)

    def _decode(self, data: object) -> str | None:
        try:
            payload = json.loads(data)  # type: ignore[arg-type]
        except (TypeError, ValueError):
            return None
        if not isinstance(payload, dict) or payload.get("origin") == self._origin:
            return None  # not ours to read, or this hub's own: it was delivered here already
        audio_id = payload.get("audio_id")
        return audio_id if isinstance(audio_id, str) and audio_id else None

    async def _write(self, publisher: Any) -> None:
        assert self._queue is not None
        while True:
            try:
                first = await asyncio.wait_for(self._queue.get(), HEARTBEAT)
            except asyncio.TimeoutError:
                # A broker that hangs without closing its sockets is only noticed by asking.
                await publisher.ping()
                continue
            batch = {first}
            # A burst of duplicate callbacks is one message per id.
            while len(batch) < _BATCH and not self._queue.empty():
                batch.add(self._queue.get_nowait())
            for message in batch:
                await publisher.publish(self._channel, message)
