"""The wait engine: every wait of one client goes through its :class:`WaitEngine`.

``wait_until_final``, ``generate``, ``wait_many``, ``as_completed`` and the CLI's ``wait`` all
hand their waiting to the engine of their client.  The rules of waiting live here and nowhere
else: the poll schedule, the deadline, what ``on_update`` sees, ``raise_on_failure``, which
failures a wait outlives (``_retry.is_transient``) and how long a ``Retry-After`` may pause it.

**Coalescing.**  Waits on ids of one account (the email inside the id) are watched together:

- Each ``wait_until_final`` registers a *waiter* on its id's *watch*, and the watch joins its
  account's *pool*.  Then it yields once, so that waits started together (a ``gather`` of 300)
  are all registered before anyone polls.
- When a waiter is due to poll and its pool has two or more ids that the list can show, it does
  not GET: it runs a *sweep* (or joins the one running): list pages of the account
  (``_sweeps.Sweeper``) that look at every pending id of the pool at once.  A record seen in a
  page is delivered to every waiter of that id as a poll's would be, and restarts its pause.
- A job seen final in a page is fetched with one GET (held by the watch: one at a time per id),
  so that ``wait_until_final`` returns what ``get()`` returns.
- A lone wait, an id the list does not show (another account's id shape, a deleted job, an old
  job deep in the list) and an account whose list keeps failing are polled by GET, as before.
- The sweep runs inside the waiting calls, in the task of the waiter that was due: no task is
  started for it, so nothing outlives the waits.  Sweeping starts with the first wait of an
  account and stops when its last wait leaves.  Cancelling a waiter (even one running a sweep)
  only makes the others sweep again.

**One policy.**  A failed poll ends a wait unless ``is_transient`` says otherwise; a
``Retry-After`` pauses the next poll of what it concerns (the id, or the account's list), capped
at the client's ``RetryPolicy.max_retry_after`` (60 s: a longer one means "pause 60 s, then look
again") and never past the wait's deadline; a 429 without one slows the list by the policy's
backoff.

**Closing.**  ``close()`` (from ``AsyncSpeechAPI.aclose``) cancels every wait in progress, and
each then raises the same ``RuntimeError``, whatever was in flight; never an exception group.

**Interface for sibling modules** (the webhooks hub): the client exposes its engine as
``AsyncSpeechAPI.wait_engine`` (internal: not part of the user-facing API, but not an underscore
name, so that ``pixverse_speech.webhooks`` can use it).  It offers:

- :meth:`WaitEngine.nudge` ``(audio_id)``: synchronous and non-blocking, from any task of the
  client's event loop.  Without a pending wait on ``audio_id`` it does nothing (no request).
  Otherwise one confirming GET of that id runs at once, in a waiter's task, and its record is
  delivered to the id's waits exactly as a poll's would be (``on_update``, ``raise_on_failure``,
  final: the wait returns).  One confirming GET per id is in flight at a time: nudges during it
  are absorbed; a nudge after a confirmation found the job unfinished starts a fresh one.
- :attr:`WaitEngine.default_schedule`: the :class:`PollSchedule` of waits whose caller did not
  pass ``poll_interval``/``max_poll_interval`` (webhooks: first poll at once, then every 30 s);
  settable, or given to the client as ``AsyncSpeechAPI(poll_schedule=...)``.
- :attr:`WaitEngine.pending_ids`: the ids waited on now.
"""

from __future__ import annotations

import logging
import math
import random
from collections.abc import AsyncIterator, Iterable, Iterator
from contextlib import contextmanager

import anyio
import anyio.lowlevel

from . import _timing
from ._batch import Batch, Completions
from ._exceptions import (
    APIError,
    RateLimitError,
    SpeechError,
    SpeechFailedError,
    WaitTimeoutError,
)
from ._models import Speech
from ._polling import PollSchedule
from ._retry import RetryPolicy, is_transient
from ._sweeps import Sweeper, SweepJob, account_of, status_key
from ._waiting import CLOSED_MESSAGE, Backend, WaitOptions, notify

__all__ = ["WaitEngine"]

logger = logging.getLogger("pixverse_speech")

#: After this many 429s of an account's list in a row, its due waits are polled by GET meanwhile.
RATE_LIMITED_SWEEPS_BEFORE_GETS = 4


class _Waiter:
    """One wait in progress: its options, its schedule and what was delivered to it."""

    __slots__ = (
        "deadline",
        "extra",
        "inbox",
        "key",
        "last",
        "last_error",
        "options",
        "parked",
        "pause",
        "pauses",
        "polled_at",
        "scope",
        "sleeping",
    )

    def __init__(
        self, options: WaitOptions, deadline: float | None, rng: random.Random, now: float
    ) -> None:
        self.options = options
        self.deadline = deadline
        self.pauses = options.schedule.pauses(rng)
        # The next poll is ``pause`` after ``polled_at``, kept apart so that a pause is slept
        # exactly as drawn; the first poll is immediate.
        self.polled_at = now
        self.pause = 0.0
        self.extra = 0.0  # a Retry-After to honour at the next pause
        self.inbox: Speech | None = None
        self.key: object = None
        self.last: Speech | None = None
        self.last_error: SpeechError | None = None
        # The scope of what the waiter blocks on now (a pause, a GET, a sweep): close() cancels
        # it.  ``parked``: a pause or a wait for another's request; ``sleeping``: a timed pause.
        self.scope: anyio.CancelScope | None = None
        self.parked = False
        self.sleeping = False

    def wake(self) -> None:
        """Cut a pause short (a nudge, a job seen final): the waiter looks at its state now."""
        if self.parked and self.scope is not None:
            self.scope.cancel()

    def cancel(self) -> None:
        """Cancel whatever the waiter blocks on (the client is closing)."""
        if self.scope is not None:
            self.scope.cancel()

    @property
    def due(self) -> float:
        return self.polled_at + self.pause

    def due_in(self, now: float) -> float:
        return self.pause - (now - self.polled_at)

    def postpone(self, until: float, now: float) -> None:
        """Poll no sooner than ``until``."""
        if until > self.due:
            self.polled_at, self.pause = now, until - now

    def polled(self, now: float) -> None:
        """A poll of this waiter's id just ended: the next one is one pause away."""
        self.polled_at = now
        self.pause = max(next(self.pauses), self.extra)
        self.extra = 0.0


class _Watch(SweepJob):
    """Every wait on one id, and the GET of that id in flight, if any."""

    __slots__ = ("confirm", "fetching", "fetching_confirms", "pool", "waiters")

    def __init__(self, audio_id: str, pool: _Pool | None) -> None:
        super().__init__(audio_id)
        self.pool = pool
        self.waiters: list[_Waiter] = []
        self.confirm = False  # a confirming GET is asked for (a nudge, or seen final in a page)
        self.fetching: anyio.Event | None = None
        self.fetching_confirms = False

    def wake(self, *, sleeping_only: bool = False) -> None:
        for waiter in self.waiters:
            if waiter.sleeping or not sleeping_only:
                waiter.wake()


class _Run:
    """One sweep of a pool: who it covers, whether it completed and what it asked for."""

    __slots__ = ("completed", "covered", "done", "get_instead", "seen")

    def __init__(self, covered: set[str]) -> None:
        self.covered = covered
        self.seen: set[str] = set()
        self.done = anyio.Event()
        self.completed = False
        # After a failed page: whether the due waits it covered should GET now (else they wait
        # for the account's slow-down).
        self.get_instead = False


class _Pool:
    """The waits of one account, and the state of its list sweeps."""

    __slots__ = (
        "list_failures",
        "list_rest_until",
        "not_before",
        "rate_limited",
        "running",
        "sweeper",
        "sweeping",
        "watches",
    )

    def __init__(self, sweeper: Sweeper) -> None:
        self.sweeper = sweeper
        self.watches: dict[str, _Watch] = {}
        self.running: _Run | None = None
        self.sweeping = True  # False after a permanent list error: GETs from then on
        self.not_before = -math.inf  # a 429 of the list: no sweep before then
        self.rate_limited = 0
        self.list_failures = 0
        self.list_rest_until = -math.inf  # after transient list errors: GETs until then

    def sweepable(self, now: float) -> bool:
        """Whether a sweep serves two or more ids now (the list is read for no fewer)."""
        if not self.sweeping or now < self.list_rest_until:
            return False
        count = 0
        for watch in self.watches.values():
            if not watch.absent and not watch.held:
                count += 1
                if count >= 2:
                    return True
        return False


class WaitEngine:
    """Every wait of one client; see the module docstring."""

    def __init__(
        self,
        backend: Backend,
        *,
        retry: RetryPolicy,
        schedule: PollSchedule | None = None,
        rng: random.Random | None = None,
    ) -> None:
        self._backend = backend
        self.retry = retry
        #: The schedule of waits that pass no ``poll_interval``/``max_poll_interval``.
        self.default_schedule = schedule if schedule is not None else PollSchedule()
        #: The random numbers of poll jitter; ``pixverse_speech.testing.seed_waits`` seeds it.
        self.rng = rng if rng is not None else random.Random()
        self._watches: dict[str, _Watch] = {}
        self._pools: dict[str, _Pool] = {}
        self._scopes: set[anyio.CancelScope] = set()
        self._closed = False

    # -- lifecycle ---------------------------------------------------------------------------

    @property
    def closed(self) -> bool:
        return self._closed or self._backend.is_closed

    def check_open(self) -> None:
        if self.closed:
            raise RuntimeError(CLOSED_MESSAGE)

    def close(self) -> None:
        """End every wait in progress: each raises ``RuntimeError(CLOSED_MESSAGE)``."""
        self._closed = True
        for scope in list(self._scopes):
            scope.cancel()
        for watch in list(self._watches.values()):
            for waiter in list(watch.waiters):
                waiter.cancel()

    @contextmanager
    def guard(self) -> Iterator[None]:
        """Run a wait so that :meth:`close` ends it with one clear ``RuntimeError``.

        Whatever the wait was doing when the client closed (a request in flight, tasks of a
        ``wait_many``), it is cancelled and the caller gets the ``RuntimeError`` alone.
        """
        self.check_open()
        scope = anyio.CancelScope()
        self._scopes.add(scope)
        try:
            with scope:
                yield
        except anyio.get_cancelled_exc_class():
            raise
        except Exception:
            if self.closed:
                raise RuntimeError(CLOSED_MESSAGE) from None
            raise
        finally:
            self._scopes.discard(scope)
        if scope.cancelled_caught:
            raise RuntimeError(CLOSED_MESSAGE)

    def options(
        self,
        timeout: object,
        poll_interval: object,
        max_poll_interval: object,
        on_update: object,
        raise_on_failure: object,
    ) -> WaitOptions:
        """Checked options of one wait call, on this engine's default schedule."""
        return WaitOptions.checked(
            timeout,
            poll_interval,
            max_poll_interval,
            on_update,
            raise_on_failure,
            schedule=self.default_schedule,
        )

    @property
    def pending_ids(self) -> frozenset[str]:
        """The ids with a wait in progress (coalesced ones)."""
        return frozenset(self._watches)

    # -- the webhooks' entry -----------------------------------------------------------------

    def nudge(self, audio_id: str) -> None:
        """Have the waits on ``audio_id`` confirm its state with one GET now (see the module
        docstring).  Does nothing when no wait is pending on it."""
        watch = self._watches.get(audio_id)
        if watch is None or not watch.waiters:
            return
        if watch.fetching is not None and watch.fetching_confirms:
            return  # the confirmation in flight answers this nudge too
        watch.confirm = True
        watch.wake()

    # -- single waits ------------------------------------------------------------------------

    async def wait(
        self,
        audio_id: str,
        options: WaitOptions,
        deadline: float | None,
        *,
        limiter: anyio.CapacityLimiter | None = None,
        coalesce: bool = True,
    ) -> Speech:
        """Wait for one job (checked arguments); ``deadline`` on the timing's clock."""
        if not coalesce:
            with self.guard():
                return await self._wait(_Watch(audio_id, None), options, deadline, limiter)
        # No scope of its own (10,000 waits would hold 10,000): close() reaches the waiter's
        # current scope through the watch, and the loop raises the RuntimeError.
        self.check_open()
        watch = self._enter(audio_id)
        try:
            return await self._wait(watch, options, deadline, limiter)
        except Exception:
            if self.closed:
                raise RuntimeError(CLOSED_MESSAGE) from None
            raise
        finally:
            self._leave(watch)

    def _enter(self, audio_id: str) -> _Watch:
        watch = self._watches.get(audio_id)
        if watch is None:
            email = account_of(audio_id)
            pool: _Pool | None = None
            if email is not None:
                pool = self._pools.get(email)
                if pool is None:
                    sweeper = Sweeper(email, self._read_page, self._backend.decode)
                    pool = self._pools[email] = _Pool(sweeper)
            watch = self._watches[audio_id] = _Watch(audio_id, pool)
            if pool is not None:
                pool.watches[audio_id] = watch
        return watch

    def _leave(self, watch: _Watch) -> None:
        if watch.waiters:
            return
        self._watches.pop(watch.audio_id, None)
        pool = watch.pool
        if pool is not None:
            pool.watches.pop(watch.audio_id, None)
            if not pool.watches:
                self._pools.pop(pool.sweeper.email, None)

    async def _read_page(self, email: str, offset: int) -> object:
        return await self._backend.read_page(email, offset)

    async def _wait(
        self,
        watch: _Watch,
        options: WaitOptions,
        deadline: float | None,
        limiter: anyio.CapacityLimiter | None,
    ) -> Speech:
        timing = _timing.current()
        waiter = _Waiter(options, deadline, self.rng, timing.now())
        watch.waiters.append(waiter)
        try:
            if watch.pool is not None:
                # Waits started together (a gather) all register before anyone polls, so that
                # the first poll is one sweep for all of them.
                await anyio.lowlevel.checkpoint()
            while True:
                self.check_open()
                speech = waiter.inbox
                if speech is not None:
                    waiter.inbox = None
                    if await self._take(waiter, speech):
                        return speech
                    continue
                now = timing.now()
                remaining = math.inf if deadline is None else deadline - now
                if remaining <= 0:
                    raise self._timeout(watch, waiter)
                if watch.confirm and watch.fetching is None:
                    await self._fetch(watch, waiter, limiter, remaining, confirm=True)
                elif waiter.due_in(now) > 0:
                    pause = waiter.due_in(now)
                    since = waiter.polled_at
                    slept = await self._park(waiter, min(pause, remaining))
                    if slept and pause <= remaining and waiter.polled_at == since:
                        # Slept the whole pause, and no poll came meanwhile: due now, whatever
                        # the clock's rounding says.
                        waiter.polled_at, waiter.pause = timing.now(), 0.0
                elif watch.fetching is not None:
                    await self._park(waiter, remaining, watch.fetching)
                elif watch.pool is not None and watch.pool.sweepable(now) and not watch.absent:
                    await self._sweep_for(watch.pool, watch, waiter, remaining, limiter)
                else:
                    await self._fetch(watch, waiter, limiter, remaining, confirm=False)
        finally:
            watch.waiters.remove(waiter)

    async def _take(self, waiter: _Waiter, speech: Speech) -> bool:
        """Pass a record to the waiter as a poll's; ``True`` when it ends the wait."""
        key = status_key(speech)
        if key != waiter.key:
            waiter.key = key
            await notify(waiter.options.on_update, speech)
        waiter.last = speech
        if not speech.is_final:
            return False
        if speech.is_failed and waiter.options.raise_on_failure:
            raise SpeechFailedError(speech)
        return True

    def _timeout(self, watch: _Watch, waiter: _Waiter) -> WaitTimeoutError:
        timeout = waiter.options.timeout
        assert timeout is not None  # a deadline comes from a timeout
        last_error = waiter.last_error or watch.last_error
        error = WaitTimeoutError(
            watch.audio_id, timeout=timeout, last=waiter.last, last_error=last_error
        )
        error.__cause__ = last_error
        return error

    async def _park(
        self, waiter: _Waiter, seconds: float, event: anyio.Event | None = None
    ) -> bool:
        """Sleep ``seconds`` (or until ``event``); a delivery, nudge or close wakes it early
        (``False``)."""
        with anyio.CancelScope() as scope:
            waiter.scope = scope
            waiter.parked = True
            waiter.sleeping = event is None
            try:
                if event is None:
                    await _timing.current().sleep(seconds)
                else:
                    # A GET or sweep in flight for this waiter ends within its own deadline.
                    await event.wait()
            finally:
                waiter.scope = None
                waiter.parked = waiter.sleeping = False
        return not scope.cancel_called

    def _deliver(self, watch: _Watch, speech: Speech) -> None:
        """A poll of ``watch``'s id read ``speech``: every waiter of the id gets it."""
        now = _timing.current().now()
        watch.last_error = None
        key = status_key(speech)
        for waiter in watch.waiters:
            waiter.inbox = speech
            waiter.polled(now)
            # A record that changes nothing waits for the waiter's next wake-up: waking 10,000
            # sleeping waits per sweep would cost more than the sweep.  A waiter parked on the
            # request or sweep that read it wakes with that anyway.
            if waiter.sleeping and (key != waiter.key or speech.is_final):
                waiter.wake()

    def _failed_poll(self, watch: _Watch, exc: SpeechError) -> None:
        """A transient failure of a poll of ``watch``'s id: each waiter waits its next pause, or
        the ``Retry-After`` (capped), whichever is longer."""
        logger.info("poll of %s failed, waiting on: %s", watch.audio_id, exc)
        now = _timing.current().now()
        pause = 0.0
        if isinstance(exc, APIError) and exc.retry_after is not None:
            pause = self.retry.capped(exc.retry_after)
        watch.last_error = exc
        for waiter in watch.waiters:
            waiter.last_error = exc
            waiter.extra = max(waiter.extra, pause)
            if waiter.due <= now:
                waiter.polled(now)

    async def _fetch(
        self,
        watch: _Watch,
        waiter: _Waiter,
        limiter: anyio.CapacityLimiter | None,
        remaining: float,
        *,
        confirm: bool,
    ) -> None:
        """GET the id (one at a time per id) and deliver the record to its waiters."""
        watch.confirm = False
        done = watch.fetching = anyio.Event()
        watch.fetching_confirms = confirm
        watch.held = False
        try:
            # The deadline also cuts short a request (and its retries) in flight.
            with anyio.move_on_after(remaining) as waiter.scope:
                try:
                    speech = await self._backend.fetch(
                        watch.audio_id, limiter=limiter, deadline=waiter.deadline
                    )
                except SpeechError as exc:
                    if not is_transient(exc):
                        raise
                    self._failed_poll(watch, exc)
                else:
                    self._deliver(watch, speech)
        finally:
            waiter.scope = None
            watch.fetching = None
            done.set()

    # -- sweeps ------------------------------------------------------------------------------

    async def _sweep_for(
        self,
        pool: _Pool,
        watch: _Watch,
        waiter: _Waiter,
        remaining: float,
        limiter: anyio.CapacityLimiter | None,
    ) -> None:
        """Poll ``watch`` through its account's list: run a sweep, or join the one running."""
        now = _timing.current().now()
        if now < pool.not_before and pool.rate_limited < RATE_LIMITED_SWEEPS_BEFORE_GETS:
            waiter.postpone(pool.not_before, now)  # the list asked to slow down: so do we
            return
        run = pool.running
        if run is None:
            run = pool.running = _Run(
                {audio_id for audio_id, job in pool.watches.items() if not job.held}
            )
            try:
                with anyio.move_on_after(remaining) as waiter.scope:
                    await self._sweep(pool, run)
                    run.completed = True
            finally:
                waiter.scope = None
                pool.running = None
                run.done.set()
        else:
            await self._park(waiter, remaining, run.done)
        if waiter.inbox is not None or watch.confirm or not run.completed:
            return  # delivered, seen final (a GET follows), or sweep again
        if watch.audio_id not in run.covered:
            return  # arrived after the sweep started: the next one covers it
        if watch.audio_id in run.seen:
            return
        # The pages did not show it this time (or failed): a GET stands in, at once.
        await self._fetch(watch, waiter, limiter, remaining, confirm=False)

    async def _sweep(self, pool: _Pool, run: _Run) -> None:
        sweeper = pool.sweeper
        pending = {audio_id: pool.watches[audio_id] for audio_id in run.covered}
        timing = _timing.current()

        async def observe(job: SweepJob, speech: Speech) -> None:
            watch = pool.watches.get(job.audio_id)
            if watch is None or not watch.waiters:
                return
            run.seen.add(job.audio_id)
            if speech.is_final:
                # The page lacks path, file_size...: one GET fetches what get() returns.
                watch.held = True
                watch.confirm = True
                watch.wake(sleeping_only=True)  # those waiting for this sweep see it after it
            else:
                self._deliver(watch, speech)

        try:
            await sweeper.sweep(pending, observe)
        except RateLimitError as exc:
            pool.rate_limited += 1
            pause = self.retry.slow_down(pool.rate_limited - 1, exc.retry_after, self.rng)
            pool.not_before = timing.now() + pause
            self._note(pool, exc)
            logger.info("list of %s is rate limited; pausing %.1fs", sweeper.email, pause)
            run.get_instead = pool.rate_limited >= RATE_LIMITED_SWEEPS_BEFORE_GETS
            if not run.get_instead:
                now = timing.now()
                for watch in pending.values():
                    for waiter in watch.waiters:
                        waiter.postpone(pool.not_before, now)
        except SpeechError as exc:
            self._note(pool, exc)
            run.get_instead = True
            if isinstance(exc, APIError) and exc.retry_after is not None:
                pool.not_before = timing.now() + self.retry.capped(exc.retry_after)
            if is_transient(exc):
                pool.list_failures += 1
                rest = self.retry.backoff(pool.list_failures - 1, self.rng)
                pool.list_rest_until = timing.now() + rest
                logger.info("list of %s failed, polling by id: %s", sweeper.email, exc)
            else:
                pool.sweeping = False
                logger.warning(
                    "list of %s failed, polling its jobs by id from now on: %s",
                    sweeper.email,
                    exc,
                )
        else:
            pool.rate_limited = 0
            pool.list_failures = 0

    @staticmethod
    def _note(pool: _Pool, exc: SpeechError) -> None:
        for watch in pool.watches.values():
            if watch.last_error is None:
                watch.last_error = exc

    # -- many waits --------------------------------------------------------------------------

    async def wait_many(
        self, audio_ids: list[str], limit: int, options: WaitOptions
    ) -> list[Speech | SpeechError]:
        """``wait_many`` once its arguments are checked: one result per id, in order."""
        with self.guard():
            batch = Batch(
                self._backend,
                audio_ids,
                anyio.CapacityLimiter(limit),
                options,
                rng=self.rng,
                retry=self.retry,
            )
            await batch.run()
        results = dict(batch.ready)
        return [results[audio_id] for audio_id in audio_ids]

    async def wait_each(
        self, audio_ids: Iterable[str], limit: int, options: WaitOptions
    ) -> list[Speech | SpeechError]:
        """The per-id way: one GET-only wait per distinct id, none coalesced.

        Kept as the yardstick the sweeps are measured against (tests and benchmarks).
        """
        ids = list(audio_ids)
        deadline = options.deadline()
        limiter = anyio.CapacityLimiter(limit)
        results: dict[str, Speech | SpeechError] = {}

        async def wait_one(audio_id: str) -> None:
            try:
                results[audio_id] = await self.wait(
                    audio_id, options, deadline, limiter=limiter, coalesce=False
                )
            except SpeechError as exc:
                results[audio_id] = exc

        with self.guard():
            async with anyio.create_task_group() as tg:
                for audio_id in dict.fromkeys(ids):
                    tg.start_soon(wait_one, audio_id, name=f"wait {audio_id}")
        return [results[audio_id] for audio_id in ids]

    def as_completed(
        self, audio_ids: list[str], limit: int, options: WaitOptions
    ) -> AsyncIterator[tuple[str, Speech | SpeechError]]:
        batch = Batch(
            self._backend,
            audio_ids,
            anyio.CapacityLimiter(limit),
            options,
            rng=self.rng,
            retry=self.retry,
        )
        return Completions(self.guard, batch)
