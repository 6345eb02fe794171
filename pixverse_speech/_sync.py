"""``SpeechAPI``: the blocking facade over :class:`AsyncSpeechAPI`.

Every method hands its call to one :class:`AsyncSpeechAPI` that lives on an event loop of its own,
run by a daemon thread the facade starts (an anyio :class:`~anyio.from_thread.BlockingPortal`).
No logic is repeated here: argument checks, retries, waits and errors are the async client's.

The loop runs in its own thread, so the facade works where the calling thread already runs an
event loop (a Jupyter cell, a sync helper called from async code) and from several threads at
once.  The thread is a daemon: a script that forgets ``close()`` still exits.
"""

from __future__ import annotations

import builtins
import contextlib
import os
import threading
import weakref
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Iterator, Mapping
from concurrent.futures import Future
from types import TracebackType
from typing import Any, Generic, Literal, TypeVar

import anyio
import httpx
from anyio.from_thread import BlockingPortal

from ._body import DEFAULT_MAX_RESPONSE_BYTES
from ._client import AsyncSpeechAPI, OnUpdate
from ._download import DEFAULT_CHUNK_SIZE, DEFAULT_DOWNLOAD_TIMEOUT, DEFAULT_MAX_BYTES, Writable
from ._exceptions import SpeechError
from ._models import Speech, SpeechModels, SpeechPage, Voice
from .webhooks import WebhookHub

__all__ = ["BlockingIterator", "SpeechAPI"]

_T = TypeVar("_T")
_Self = TypeVar("_Self", bound="SpeechAPI")


class _LoopThread:
    """An event loop on a daemon thread, reached through a blocking portal."""

    def __init__(self) -> None:
        ready: Future[BlockingPortal] = Future()

        async def run_portal() -> None:
            async with BlockingPortal() as portal:
                ready.set_result(portal)
                await portal.sleep_until_stopped()

        def run() -> None:
            try:
                anyio.run(run_portal)
            except BaseException as exc:  # a loop that never started: tell the constructor
                if not ready.done():
                    ready.set_exception(exc)

        # A daemon: anyio's own portal threads are joined at interpreter exit, which would hang a
        # script that never closed its client.
        self.thread = threading.Thread(target=run, name="pixverse-speech-loop", daemon=True)
        self.thread.start()
        self.portal = ready.result()

    def call(self, func: Callable[..., Awaitable[_T]], *args: object) -> _T:
        """Run ``await func(*args)`` on the loop and return its result, blocking this thread."""
        if not self.thread.is_alive():
            raise RuntimeError("this SpeechAPI is closed; create a new one")
        if threading.current_thread() is self.thread:
            raise RuntimeError(
                "a SpeechAPI method was called from its own event loop (in an on_update "
                "callback?); use the AsyncSpeechAPI there"
            )
        future = self.portal.start_task_soon(func, *args)
        try:
            return future.result()
        except BaseException:
            # Ctrl-C in the caller's thread must not leave the request running on the loop.
            future.cancel()
            raise

    def run_sync(self, func: Callable[[], _T]) -> _T:
        """Run ``func()`` in the loop's thread (for calls that bind to the running loop)."""
        return self.portal.call(func)

    @staticmethod
    def stop(portal: BlockingPortal, thread: threading.Thread) -> None:
        with contextlib.suppress(RuntimeError):  # already stopped
            portal.call(portal.stop, True)
        if threading.current_thread() is not thread:
            thread.join()


class BlockingIterator(Iterator[_T], Generic[_T]):
    """A plain iterator over one of the async client's iterators; ``close()`` ends it early.

    Nothing runs between two ``next()`` calls, so leaving a loop early stops all work too.
    """

    def __init__(self, loop: _LoopThread, source: AsyncIterator[_T]) -> None:
        self._loop = loop
        self._source = source
        self._closed = False

    def __iter__(self) -> BlockingIterator[_T]:
        return self

    def __next__(self) -> _T:
        if self._closed:
            raise StopIteration
        try:
            return self._loop.call(self._step)
        except StopAsyncIteration:
            self._closed = True
            raise StopIteration from None

    async def _step(self) -> _T:
        return await self._source.__anext__()

    def close(self) -> None:
        """Stop: nothing more is fetched or yielded."""
        if self._closed:
            return
        self._closed = True
        aclose = getattr(self._source, "aclose", None)
        if aclose is not None:
            self._loop.call(aclose)

    def __enter__(self) -> BlockingIterator[_T]:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


class SpeechAPI:
    """A blocking client: :class:`AsyncSpeechAPI`'s methods, for code that is not async.

    Same arguments, methods, defaults and errors as :class:`AsyncSpeechAPI`, without ``await``;
    :meth:`iter_speech` and :meth:`as_completed` return plain iterators.  The async client runs on
    an event loop in a thread of its own, so this works in scripts, Django views, Celery tasks and
    Jupyter notebooks alike, from several threads at once.  Use it as a context manager or call
    :meth:`close` when done.  An ``on_update`` callback runs on that loop's thread.

    :param token: the useapi.net API token; ``None`` reads ``USEAPI_TOKEN``.
    :param email: the account email used by list calls that do not name one.
    :param base_url: the API root; ``None`` reads ``USEAPI_BASE_URL``, else
        ``https://api.useapi.net/v2/``.
    :param timeout: per HTTP request, in seconds or as an ``httpx.Timeout``.
    :param max_retries: retries of one request on a transient failure; ``0`` disables them.
    :param max_connections: the most requests in flight at once.
    :param transport: as for :class:`AsyncSpeechAPI` (an ``httpx.AsyncBaseTransport`` or
        ``"aiohttp"``).
    :param http_client: an ``httpx.AsyncClient`` to send through, used as it is and never closed.
    :param default_headers: headers sent with every API request.
    """

    def __init__(
        self,
        token: str | None = None,
        *,
        email: str | None = None,
        base_url: str | None = None,
        timeout: float | httpx.Timeout = 30.0,
        max_retries: int = 3,
        max_connections: int | None = None,
        transport: Literal["aiohttp"] | httpx.AsyncBaseTransport | None = None,
        http_client: httpx.AsyncClient | None = None,
        max_response_bytes: int = DEFAULT_MAX_RESPONSE_BYTES,
        default_headers: Mapping[str, str] | None = None,
        webhooks: WebhookHub | None = None,
    ) -> None:
        loop = _LoopThread()
        try:
            # Built on the loop's thread: whatever the client binds to a running loop is bound
            # to its own, never to one the caller's thread may be running (Jupyter).
            self._api = loop.run_sync(
                lambda: AsyncSpeechAPI(
                    token,
                    email=email,
                    base_url=base_url,
                    timeout=timeout,
                    max_retries=max_retries,
                    max_connections=max_connections,
                    transport=transport,
                    http_client=http_client,
                    max_response_bytes=max_response_bytes,
                    default_headers=default_headers,
                    webhooks=webhooks,
                )
            )
        except BaseException:
            _LoopThread.stop(loop.portal, loop.thread)  # a bad argument leaves no thread behind
            raise
        self._loop = loop
        self._stop = weakref.finalize(self, _LoopThread.stop, loop.portal, loop.thread)
        self._is_view = False
        self._owner: SpeechAPI | None = None

    # -- lifecycle ---------------------------------------------------------------------------

    def __enter__(self: _Self) -> _Self:
        self._api._check_open()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        """Close the connection pool and stop the event-loop thread.  Safe to call twice.

        On a view from :meth:`with_options`, close only the view.
        """
        if self._is_view:
            if not self._api.is_closed and self._loop.thread.is_alive():
                self._loop.call(self._api.aclose)
            return
        if not self._stop.alive:
            return
        try:
            self._loop.call(self._api.aclose)
        finally:
            self._stop()

    @property
    def is_closed(self) -> bool:
        """Whether :meth:`close` has been called."""
        return self._api.is_closed

    @property
    def base_url(self) -> str:
        """The API root requests go to."""
        return self._api.base_url

    @property
    def email(self) -> str | None:
        """The default account email of list calls."""
        return self._api.email

    @property
    def async_client(self) -> AsyncSpeechAPI:
        """The :class:`AsyncSpeechAPI` this facade drives (it lives on the facade's loop)."""
        return self._api

    def __repr__(self) -> str:
        state = " closed" if self.is_closed else ""
        return f"<SpeechAPI base_url={self.base_url!r} email={self.email!r}{state}>"

    def with_options(
        self,
        *,
        timeout: float | httpx.Timeout | None = None,
        max_retries: int | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> SpeechAPI:
        """A view with other request settings, sharing the pool and the loop thread:
        :meth:`AsyncSpeechAPI.with_options`."""
        view = SpeechAPI.__new__(SpeechAPI)
        view._api = self._api.with_options(
            timeout=timeout, max_retries=max_retries, headers=headers
        )
        view._loop = self._loop
        view._stop = self._stop  # the owner's: a view never stops the loop
        view._owner = self  # keeps the owner, and so its loop thread, alive while the view is
        view._is_view = True
        return view

    def _iterate(self, make: Callable[[], AsyncIterator[_T]]) -> Iterator[_T]:
        # Made on the loop: an iterator may bind loop objects (a capacity limiter) when created.
        return BlockingIterator(self._loop, self._loop.run_sync(make))

    # -- the API -----------------------------------------------------------------------------

    def get(self, audio_id: str | Speech) -> Speech:
        """Fetch one job by its ``audio_id``: :meth:`AsyncSpeechAPI.get`."""
        return self._loop.call(self._api.get, audio_id)

    def list(
        self,
        *,
        email: str | None = None,
        limit: int | None = None,
        offset: int | None = None,
    ) -> SpeechPage:
        """Fetch one page of jobs, newest first: :meth:`AsyncSpeechAPI.list`."""
        return self._loop.call(lambda: self._api.list(email=email, limit=limit, offset=offset))

    def iter_speech(
        self,
        *,
        email: str | None = None,
        page_size: int = 50,
        offset: int = 0,
    ) -> Iterator[Speech]:
        """Every job of the account, newest first: :meth:`AsyncSpeechAPI.iter_speech`."""
        return self._iterate(
            lambda: self._api.iter_speech(email=email, page_size=page_size, offset=offset)
        )

    def wait_until_final(
        self,
        audio_id: str | Speech,
        *,
        timeout: float | None = 600.0,
        poll_interval: float = 1.0,
        max_poll_interval: float = 4.0,
        on_update: OnUpdate | None = None,
        raise_on_failure: bool = True,
    ) -> Speech:
        """Poll one job until it is final: :meth:`AsyncSpeechAPI.wait_until_final`."""
        return self._loop.call(
            lambda: self._api.wait_until_final(
                audio_id,
                timeout=timeout,
                poll_interval=poll_interval,
                max_poll_interval=max_poll_interval,
                on_update=on_update,
                raise_on_failure=raise_on_failure,
            )
        )

    def wait_many(
        self,
        audio_ids: Iterable[str],
        *,
        concurrency: int = 8,
        timeout: float | None = 600.0,
        poll_interval: float = 1.0,
        max_poll_interval: float = 4.0,
        on_update: OnUpdate | None = None,
        raise_on_failure: bool = False,
    ) -> builtins.list[Speech | SpeechError]:
        """Wait for many jobs at once: :meth:`AsyncSpeechAPI.wait_many`."""
        return self._loop.call(
            lambda: self._api.wait_many(
                audio_ids,
                concurrency=concurrency,
                timeout=timeout,
                poll_interval=poll_interval,
                max_poll_interval=max_poll_interval,
                on_update=on_update,
                raise_on_failure=raise_on_failure,
            )
        )

    def as_completed(
        self,
        audio_ids: Iterable[str],
        *,
        concurrency: int = 8,
        timeout: float | None = 600.0,
        poll_interval: float = 1.0,
        max_poll_interval: float = 4.0,
        on_update: OnUpdate | None = None,
        raise_on_failure: bool = False,
    ) -> Iterator[tuple[str, Speech | SpeechError]]:
        """``(audio_id, result)`` as each job becomes final: :meth:`AsyncSpeechAPI.as_completed`.

        Polling happens only inside ``next()``: leaving the loop stops all work.
        """
        return self._iterate(
            lambda: self._api.as_completed(
                audio_ids,
                concurrency=concurrency,
                timeout=timeout,
                poll_interval=poll_interval,
                max_poll_interval=max_poll_interval,
                on_update=on_update,
                raise_on_failure=raise_on_failure,
            )
        )

    def create(
        self,
        text: str,
        voice_id: str,
        *,
        model: str | None = None,
        email: str | None = None,
        language_code: str | None = None,
        speed: float | None = None,
        volume: float | None = None,
        pitch: int | None = None,
        emotion: str | None = None,
        stability: float | None = None,
        similarity_boost: float | None = None,
        style: float | None = None,
        use_speaker_boost: bool | None = None,
        reply_url: str | None = None,
        reply_ref: str | None = None,
        max_jobs: int | None = None,
    ) -> Speech:
        """Start a text-to-speech job: :meth:`AsyncSpeechAPI.create`."""
        return self._loop.call(
            lambda: self._api.create(
                text,
                voice_id,
                model=model,
                email=email,
                language_code=language_code,
                speed=speed,
                volume=volume,
                pitch=pitch,
                emotion=emotion,
                stability=stability,
                similarity_boost=similarity_boost,
                style=style,
                use_speaker_boost=use_speaker_boost,
                reply_url=reply_url,
                reply_ref=reply_ref,
                max_jobs=max_jobs,
            )
        )

    def generate(
        self,
        text: str,
        voice_id: str,
        *,
        model: str | None = None,
        email: str | None = None,
        language_code: str | None = None,
        speed: float | None = None,
        volume: float | None = None,
        pitch: int | None = None,
        emotion: str | None = None,
        stability: float | None = None,
        similarity_boost: float | None = None,
        style: float | None = None,
        use_speaker_boost: bool | None = None,
        reply_url: str | None = None,
        reply_ref: str | None = None,
        max_jobs: int | None = None,
        resubmit: int = 2,
        timeout: float | None = 600.0,
        poll_interval: float = 1.0,
        max_poll_interval: float = 4.0,
        on_update: OnUpdate | None = None,
    ) -> Speech:
        """Create a job and wait until it is final: :meth:`AsyncSpeechAPI.generate`."""
        return self._loop.call(
            lambda: self._api.generate(
                text,
                voice_id,
                model=model,
                email=email,
                language_code=language_code,
                speed=speed,
                volume=volume,
                pitch=pitch,
                emotion=emotion,
                stability=stability,
                similarity_boost=similarity_boost,
                style=style,
                use_speaker_boost=use_speaker_boost,
                reply_url=reply_url,
                reply_ref=reply_ref,
                max_jobs=max_jobs,
                resubmit=resubmit,
                timeout=timeout,
                poll_interval=poll_interval,
                max_poll_interval=max_poll_interval,
                on_update=on_update,
            )
        )

    def generate_many(
        self,
        items: Iterable[str | Mapping[str, Any]],
        *,
        voice_id: str | None = None,
        max_jobs: int = 4,
        resubmit: int = 1,
        timeout: float | None = 3600.0,
        on_update: OnUpdate | None = None,
        on_created: Callable[[int, str], Awaitable[object] | object] | None = None,
        **settings: Any,
    ) -> builtins.list[Speech | SpeechError]:
        """Many texts to finished jobs, one result per item: :meth:`AsyncSpeechAPI.generate_many`.

        ``on_update`` and ``on_created`` are called on the client's loop thread.
        """
        return self._loop.call(
            lambda: self._api.generate_many(
                items,
                voice_id=voice_id,
                max_jobs=max_jobs,
                resubmit=resubmit,
                timeout=timeout,
                on_update=on_update,
                on_created=on_created,
                **settings,
            )
        )

    def generate_as_completed(
        self,
        items: Iterable[str | Mapping[str, Any]],
        *,
        voice_id: str | None = None,
        max_jobs: int = 4,
        resubmit: int = 1,
        timeout: float | None = 3600.0,
        on_update: OnUpdate | None = None,
        on_created: Callable[[int, str], Awaitable[object] | object] | None = None,
        **settings: Any,
    ) -> Iterator[tuple[int, Speech | SpeechError]]:
        """``(index, result)`` as each item ends: :meth:`AsyncSpeechAPI.generate_as_completed`.

        Work happens only inside ``next()``: leaving the loop creates nothing more.
        """
        return self._iterate(
            lambda: self._api.generate_as_completed(
                items,
                voice_id=voice_id,
                max_jobs=max_jobs,
                resubmit=resubmit,
                timeout=timeout,
                on_update=on_update,
                on_created=on_created,
                **settings,
            )
        )

    def voices(
        self,
        *,
        model: str | None = None,
        language: str | None = None,
        email: str | None = None,
    ) -> builtins.list[Voice]:
        """The voices a model offers: :meth:`AsyncSpeechAPI.voices`."""
        return self._loop.call(
            lambda: self._api.voices(model=model, language=language, email=email)
        )

    def models(self) -> SpeechModels:
        """Every model with its limits: :meth:`AsyncSpeechAPI.models`."""
        return self._loop.call(self._api.models)

    def download(
        self,
        speech_or_url: Speech | str,
        destination: str | os.PathLike[str] | Writable,
        *,
        chunk_size: int = DEFAULT_CHUNK_SIZE,
        timeout: float | None = DEFAULT_DOWNLOAD_TIMEOUT,
        max_bytes: int = DEFAULT_MAX_BYTES,
    ) -> int:
        """Stream a COMPLETED job's audio to a file: :meth:`AsyncSpeechAPI.download`.

        A file object's ``write`` is called on the client's loop thread.
        """
        return self._loop.call(
            lambda: self._api.download(
                speech_or_url,
                destination,
                chunk_size=chunk_size,
                timeout=timeout,
                max_bytes=max_bytes,
            )
        )
