"""The fake calls back: POST the job record to a job's ``replyUrl`` when the job ends.

Jobs move on lazily (nothing runs when a job's time comes), so the callbacks need a sender of
their own: a daemon thread with its own event loop and ``httpx.AsyncClient``, started when the
first job with a ``replyUrl`` is made and gone again once nothing is left to send.  It watches
the fake's clock: on a :class:`RealClock` it sleeps until the next job ends; on any other clock
(a :class:`FakeClock` moved by hand or by ``virtual_time()``) it looks every few milliseconds.

Without a ``callback_transport`` the fake only calls loopback addresses (``127.0.0.0/8``,
``::1``, ``localhost``), so a test can never reach a real host by accident; with one, the
transport decides (``httpx.ASGITransport(hub.app)`` calls a hub in-process).
"""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import ipaddress
import random
import threading
from typing import Literal
from urllib.parse import urlsplit

import attrs
import httpx

from ._clock import Clock, RealClock
from ._state import Job, SpeechState

__all__ = ["CallbackSender", "SentCallback"]

#: How often the sender looks at a clock that does not run on its own.
_TICK = 0.005
#: How long an idle sender lingers before its thread ends.
_LINGER = 1.0
_MAX_SENDING = 64


@attrs.frozen
class SentCallback:
    """One callback the fake made, or decided not to make.

    ``outcome``: ``"sent"`` (``status`` is the receiver's answer), ``"failed"`` (no answer:
    ``error`` says why), ``"dropped"`` (by ``configure_callbacks(drop=...)``) or ``"refused"``
    (not a loopback address and no ``callback_transport``; recorded when the job is made).
    ``copy`` is 0 for the first POST of a job and 1, 2, ... for duplicates.  ``time`` is the
    fake's clock time.
    """

    audio_id: str
    url: str
    outcome: Literal["sent", "failed", "dropped", "refused"]
    time: float
    copy: int = 0
    status: int | None = None
    error: str | None = None


def is_loopback_url(url: str) -> bool:
    """Whether ``url``'s host is a loopback address (or ``localhost``)."""
    host = (urlsplit(url).hostname or "").lower()
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


@attrs.define
class _Due:
    due: float
    seq: int
    audio_id: str
    url: str
    delayed: bool = False

    def __lt__(self, other: _Due) -> bool:
        return (self.due, self.seq) < (other.due, other.seq)


class CallbackSender:
    """Schedules and sends a fake's callbacks; every public method is thread-safe."""

    def __init__(
        self,
        *,
        state: SpeechState,
        clock: Clock,
        transport: httpx.AsyncBaseTransport | None,
        seed: int | None,
    ) -> None:
        self._state = state
        self._clock = clock
        self._transport = transport
        self._rng = random.Random(seed)
        self._lock = threading.Lock()
        self._heap: list[_Due] = []
        self._seq = 0
        self._sent: list[SentCallback] = []
        self._sending = 0
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._wake: asyncio.Event | None = None
        self.drop = 0.0
        self.delay = 0.0
        self.duplicates = 0

    # -- any thread --------------------------------------------------------------------------

    def configure(self, *, drop: float, delay: float, duplicates: int) -> None:
        if isinstance(drop, bool) or not isinstance(drop, (int, float)) or not 0 <= drop <= 1:
            raise ValueError(f"drop must be a probability between 0 and 1, got {drop!r}")
        if isinstance(delay, bool) or not isinstance(delay, (int, float)) or not delay >= 0:
            raise ValueError(f"delay must be >= 0 seconds, got {delay!r}")
        if isinstance(duplicates, bool) or not isinstance(duplicates, int) or duplicates < 0:
            raise ValueError(f"duplicates must be an integer >= 0, got {duplicates!r}")
        with self._lock:
            self.drop, self.delay, self.duplicates = float(drop), float(delay), duplicates

    @property
    def sent(self) -> list[SentCallback]:
        with self._lock:
            return list(self._sent)

    @property
    def pending(self) -> int:
        with self._lock:
            return len(self._heap) + self._sending

    def schedule(self, job: Job) -> None:
        """Plan ``job``'s callback (the fake's state calls this for every new job)."""
        if job.reply_url is None:
            return
        with self._lock:
            if self._transport is None and not is_loopback_url(job.reply_url):
                self._sent.append(
                    SentCallback(
                        job.audio_id,
                        job.reply_url,
                        "refused",
                        job.created,
                        error="not a loopback address; pass callback_transport to reach it",
                    )
                )
                return
            heapq.heappush(self._heap, _Due(job.ends_at, self._seq, job.audio_id, job.reply_url))
            self._seq += 1
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._run, name="fake-speech-callbacks", daemon=True
                )
                self._thread.start()
            else:
                self._poke()

    def _poke(self) -> None:
        loop, wake = self._loop, self._wake
        if loop is not None and wake is not None:
            # RuntimeError: closing; it looks at the heap once more before it ends.
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(wake.set)

    # -- the sender's thread -----------------------------------------------------------------

    def _run(self) -> None:
        asyncio.run(self._main())

    async def _main(self) -> None:
        wake = asyncio.Event()
        with self._lock:
            self._loop, self._wake = asyncio.get_running_loop(), wake
        limit = asyncio.Semaphore(_MAX_SENDING)
        tasks: set[asyncio.Task[None]] = set()
        idle_since: float | None = None
        # verify=False: without a transport only loopback hosts are called, where a certificate
        # proves nothing, and loading the CA bundle would delay the first callback by ~150 ms.
        async with httpx.AsyncClient(transport=self._transport, timeout=10.0, verify=False) as http:
            while True:
                now = self._clock.now()
                with self._lock:
                    due: list[_Due] = []
                    while self._heap and self._heap[0].due <= now:
                        due.append(heapq.heappop(self._heap))
                    next_due = self._heap[0].due if self._heap else None
                    busy = bool(due or self._heap or self._sending)
                    if busy:
                        idle_since = None
                    elif idle_since is None:
                        idle_since = asyncio.get_running_loop().time()
                    elif asyncio.get_running_loop().time() - idle_since >= _LINGER:
                        self._thread = self._loop = self._wake = None
                        return
                for entry in due:
                    for copy in self._plan(entry, now):
                        task = asyncio.ensure_future(self._send(http, limit, entry, copy))
                        tasks.add(task)
                        task.add_done_callback(tasks.discard)
                wake.clear()
                with contextlib.suppress(asyncio.TimeoutError):
                    await asyncio.wait_for(wake.wait(), self._pause(now, next_due))

    def _pause(self, now: float, next_due: float | None) -> float:
        if next_due is None:
            return _LINGER / 4
        if isinstance(self._clock, RealClock):
            return max(0.0, min((next_due - now) / self._clock.speed, _LINGER))
        return _TICK

    def _plan(self, entry: _Due, now: float) -> range:
        """The copies of ``entry`` to send now: none when it is delayed or dropped."""
        with self._lock:
            if not entry.delayed and self.delay > 0:
                entry.due += self.delay
                entry.delayed = True
                heapq.heappush(self._heap, entry)
                return range(0)
            if self._rng.random() < self.drop:
                self._sent.append(SentCallback(entry.audio_id, entry.url, "dropped", now))
                return range(0)
            copies = 1 + self.duplicates
            self._sending += copies
            return range(copies)

    async def _send(
        self, http: httpx.AsyncClient, limit: asyncio.Semaphore, entry: _Due, copy: int
    ) -> None:
        try:
            record = self._state.record(entry.audio_id)
            if record is None:  # removed before it ended: nothing to tell
                return
            async with limit:
                try:
                    response = await http.post(entry.url, json=record)
                except httpx.HTTPError as exc:
                    result = SentCallback(
                        entry.audio_id,
                        entry.url,
                        "failed",
                        self._clock.now(),
                        copy=copy,
                        error=f"{type(exc).__name__}: {exc}",
                    )
                else:
                    result = SentCallback(
                        entry.audio_id,
                        entry.url,
                        "sent",
                        self._clock.now(),
                        copy=copy,
                        status=response.status_code,
                    )
            with self._lock:
                self._sent.append(result)
        finally:
            with self._lock:
                self._sending -= 1
