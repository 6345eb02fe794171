"""``WebhookHub``: receives job callbacks and tells every waiting client, in every process."""

from __future__ import annotations

import math
import secrets
from collections.abc import Callable
from types import TracebackType
from typing import TypeVar
from urllib.parse import quote, urlencode, urlsplit

import anyio
import anyio.abc

from .._checks import as_float, shown
from ._asgi import WebhookApp
from ._listeners import Listener, ListenerRegistry
from ._redis import CONNECT_TIMEOUT, RedisLink, safe_redis_url
from ._signing import REF_PARAM, SIG_PARAM, Signer

__all__ = ["DEFAULT_CHANNEL", "DEFAULT_FALLBACK_POLL_INTERVAL", "WebhookHub"]

DEFAULT_FALLBACK_POLL_INTERVAL = 30.0
#: The Redis pub/sub channel hubs share unless told otherwise.
DEFAULT_CHANNEL = "pixverse_speech:webhooks"

_Self = TypeVar("_Self", bound="WebhookHub")


def _check_url(url: object) -> tuple[str, str]:
    """``(url, path)``: the public URL as given and its path without a trailing slash."""
    if not isinstance(url, str):
        raise TypeError(f"url must be a string, got {type(url).__name__}")
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises on a bad port
    except ValueError as exc:
        raise ValueError(f"url is not a valid URL ({exc}): {url!r}") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"url must be an absolute http(s) URL, got {url!r}")
    if parts.query or parts.fragment or url.endswith(("?", "#")):
        raise ValueError(f"url must not have a query or fragment (the hub adds its own): {url!r}")
    if any(ch.isspace() or not ch.isprintable() for ch in url):
        raise ValueError(f"url must not contain spaces or control characters: {url!r}")
    return url, parts.path.rstrip("/")


def _check_secret(secret: object) -> bytes | None:
    if secret is None:
        return None
    if isinstance(secret, str):
        key = secret.encode()
    elif isinstance(secret, bytes):
        key = secret
    else:
        raise TypeError(f"secret must be a string or bytes, got {type(secret).__name__}")
    if not key.strip():
        raise ValueError("secret must not be empty")
    return key


def _check_interval(value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(
            f"fallback_poll_interval must be a number of seconds, got {type(value).__name__}"
        )
    seconds = as_float("fallback_poll_interval", value)
    if not (seconds > 0 and math.isfinite(seconds)):
        raise ValueError(
            f"fallback_poll_interval must be a positive finite number of seconds, "
            f"got {shown(value)}"
        )
    return seconds


def _check_redis_url(redis_url: object) -> str | None:
    if redis_url is None:
        return None
    if not isinstance(redis_url, str):
        raise TypeError(f"redis_url must be a string, got {type(redis_url).__name__}")
    if urlsplit(redis_url).scheme not in ("redis", "rediss", "unix"):
        raise ValueError(
            f"redis_url must be a redis://, rediss:// or unix:// URL, got "
            f"{safe_redis_url(redis_url)!r}"
        )
    try:
        import redis.asyncio  # noqa: F401
    except ImportError:
        raise ImportError(
            "redis_url needs redis-py: pip install 'pixverse-speech[redis]'"
        ) from None
    return redis_url


class WebhookHub:
    """Receives the API's job callbacks and ends the matching waits at once, in every process.

    Give the API :meth:`reply_url` (a client made with ``AsyncSpeechAPI(webhooks=hub)`` does it
    for every job it creates) and serve :attr:`app` at ``url``.  A callback only names a job: a
    client waiting on it confirms the job with one GET, so an unsigned or forged body is never
    taken for a result.  With ``redis_url`` each callback id is also published on Redis, so a
    wait in another worker process hears of a callback that landed here.

    ``async with hub:`` is the hub's whole lifecycle: it connects to Redis (never raising
    because Redis is unreachable: waits then end by their fallback polls) and, on exit,
    disconnects.

    :param url: the public URL at which :attr:`app` is reachable, as the API must call it.
    :param secret: signs the reply URLs the hub hands out; callbacks without a valid signature
        then get 401 and cause nothing.  Without it anyone who can reach the URL can make a
        waiting client send one confirming GET per callback.
    :param redis_url: a Redis to share callbacks with the other processes (``redis`` extra).
    :param fallback_poll_interval: seconds between the polls of a wait on a client using this
        hub, after the first one, which is immediate: the safety net for a lost callback.
    :param redis_channel: the pub/sub channel; hubs that should hear each other share it.
    """

    def __init__(
        self,
        url: str,
        *,
        secret: str | bytes | None = None,
        redis_url: str | None = None,
        fallback_poll_interval: float = DEFAULT_FALLBACK_POLL_INTERVAL,
        redis_channel: str = DEFAULT_CHANNEL,
    ) -> None:
        self._url, self._path = _check_url(url)
        key = _check_secret(secret)
        self._signer = Signer(key) if key is not None else None
        self._redis_url = _check_redis_url(redis_url)
        self._fallback = _check_interval(fallback_poll_interval)
        if not isinstance(redis_channel, str) or not redis_channel:
            raise ValueError("redis_channel must be a non-empty string")
        self._channel = redis_channel
        self._origin = secrets.token_hex(8)
        self._listeners = ListenerRegistry()
        self._app = WebhookApp(path=self._path, signer=self._signer, received=self._received)
        self._link: RedisLink | None = None
        self._task_group: anyio.abc.TaskGroup | None = None

    def __repr__(self) -> str:
        parts = [f"url={self._url!r}", f"signed={self._signer is not None}"]
        if self._redis_url is not None:
            parts.append(f"redis_url={safe_redis_url(self._redis_url)!r}")
        return f"<WebhookHub {' '.join(parts)}>"

    # -- configuration -----------------------------------------------------------------------

    @property
    def url(self) -> str:
        """The public URL the hub was given."""
        return self._url

    @property
    def fallback_poll_interval(self) -> float:
        """Seconds between a webhook client's polls after the first: the safety net."""
        return self._fallback

    @property
    def app(self) -> WebhookApp:
        """The ASGI 3 application to serve at :attr:`url` (or mount under its path).

        It takes a ``POST`` with a JSON body at the URL's path or any path below it, and answers
        at once, without waiting for any request: ``401`` for a missing or bad signature when
        the hub has a ``secret`` (nothing else happens), ``400`` for a body that is not a JSON
        object with a string ``audio_id``, and ``200`` otherwise, also for ids nobody waits for.
        Duplicates are fine.  It needs no lifespan events.
        """
        return self._app

    @property
    def redis_connected(self) -> bool:
        """Whether the hub is subscribed to Redis right now (``False`` without ``redis_url``)."""
        link = self._link
        return link is not None and link.connected

    def reply_url(self, reply_ref: str | None = None) -> str:
        """The URL to give the API as a job's ``replyUrl``.

        ``reply_ref`` travels in its query, since the callback body does not carry it.  With a
        ``secret`` the URL also carries an HMAC-SHA256 signature over the hub's path and
        ``reply_ref``, which the hub checks, in constant time, on every callback.
        """
        if reply_ref is not None and not isinstance(reply_ref, str):
            raise TypeError(f"reply_ref must be a string or None, got {type(reply_ref).__name__}")
        params: list[tuple[str, str]] = []
        if reply_ref is not None:
            params.append((REF_PARAM, reply_ref))
        if self._signer is not None:
            params.append((SIG_PARAM, self._signer.sign(self._path, reply_ref)))
        if not params:
            return self._url
        return f"{self._url}?{urlencode(params, quote_via=quote)}"

    # -- listeners: the integration point ----------------------------------------------------

    def add_listener(self, listener: Listener) -> Callable[[], None]:
        """Call ``listener(audio_id)`` for every callback this hub hears of, here or via Redis.

        This is how a client hooks its waits to the hub; anything else may listen too (to log
        callbacks, say).  ``listener`` must be quick and must not block: it gets the id of an
        unsigned callback, which only says "look at this job now".  Registered from inside an
        event loop, it is always called on that loop's thread; registered outside any loop, on
        the thread that received the callback.  Returns a function that unregisters it.
        """
        return self._listeners.add(listener)

    def _received(self, audio_id: str) -> None:
        """A callback for ``audio_id`` arrived here: tell this process, then the others."""
        self._listeners.deliver(audio_id)
        link = self._link
        if link is not None:
            link.publish(audio_id)

    # -- lifecycle ---------------------------------------------------------------------------

    async def __aenter__(self: _Self) -> _Self:
        if self._task_group is not None:
            raise RuntimeError("this WebhookHub is already open")
        task_group = anyio.create_task_group()
        await task_group.__aenter__()
        self._task_group = task_group
        if self._redis_url is None:
            return self
        link = RedisLink(
            self._redis_url,
            channel=self._channel,
            origin=self._origin,
            deliver=self._listeners.deliver,
        )
        self._link = link
        try:
            # Its own thread (one slot, not one of anyio's shared worker threads) for the life
            # of the hub: see _redis for why.
            task_group.start_soon(_run_thread, link.run)
            # Wait for the first connection attempt, so that a hub that opens while Redis is up
            # shares callbacks from its first moment; a failed one does not raise.
            await anyio.to_thread.run_sync(link.first_attempt.wait, CONNECT_TIMEOUT * 2 + 1)
        except BaseException:
            await self.__aexit__(None, None, None)
            raise
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        task_group, link = self._task_group, self._link
        self._task_group = self._link = None
        if link is not None:
            link.stop()
        if task_group is not None:
            task_group.cancel_scope.cancel()
            await task_group.__aexit__(exc_type, exc, tb)


async def _run_thread(body: Callable[[], None]) -> None:
    await anyio.to_thread.run_sync(body, limiter=anyio.CapacityLimiter(1))
