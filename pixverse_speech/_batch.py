"""Waiting for many jobs with few requests: ``wait_many`` and ``as_completed``.

The list endpoint returns up to 50 jobs of one account per request, newest first, so one request
can look at 50 pending jobs where per-id waiting spends 50.  The engine here:

- groups the ids by account: the email is inside the id (``user:<n>-pixverse:<email>-speech:<n>``;
  the email may contain ``-``).  Ids that do not parse form one more group that is only ever
  polled id by id.
- polls each group in *rounds* on the wait's own poll schedule: the first round at once, then
  the growing, jittered pauses of :class:`~pixverse_speech._polling.PollSchedule`, so a job is
  looked at as often as per-id waiting would look at it.
- in a round, reads list pages (``limit=50``, the account's ``email``) and then sends a GET
  ``speech/{audio_id}`` for each pending job the pages did not show.  The first round *discovers*
  where the jobs are: pages from offset 0 until every pending id was seen, the list ends, too few
  ids are left to be worth a page, or several pages in a row held none of them (old jobs deep in
  the list are left to GETs).  Later rounds fetch only *windows*: 50 jobs from the offset where a
  run of at least two pending jobs was last seen, shifted by how far new jobs pushed the list
  down; a job alone in its window is cheaper to GET.  Any page that shows a pending job counts as
  an observation, wherever it was expected.
- takes a job seen COMPLETED in a page as final (the list record carries ``url`` and
  ``duration``); a job seen FAILED is fetched once with GET, since only the retrieve endpoint
  carries ``fail_code`` and ``fail_reason``.
- paces requests: one ``anyio.CapacityLimiter`` of ``concurrency`` for the whole call bounds list
  pages and GETs together.  List pages are not retried by the client: a 429 on an account's list
  slows that account (no GETs for it that round, unless the list has been refused several rounds
  in a row, and the next round no sooner than the ``Retry-After``, else a growing backoff); it
  never fails a wait.  Another transient list error falls back to GETs for that round at once and
  rests the list for a few rounds if it keeps failing; a permanent one (400, 401, ...) turns the
  account over to GETs for good.  GETs are retried as for any wait.

A result observed in a page lacks the fields only the retrieve endpoint has: ``path``,
``file_size``, ``format``, ``sample_rate``, ``bitrate`` and ``channel`` (``None``); a FAILED job is
always fetched, so its ``fail_code``/``fail_reason`` are there.

Between two items of :func:`as_completed` no task runs: each step runs the rounds that are due in a
task group of its own and returns once a result is ready and the rounds in progress are complete.
Breaking out of the loop therefore leaves nothing behind, and cancelling a step cancels its work.
"""

from __future__ import annotations

import logging
import math
import random
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Iterator
from contextlib import AbstractContextManager

import anyio

from . import _timing
from ._exceptions import (
    APIError,
    RateLimitError,
    SpeechError,
    SpeechFailedError,
    WaitTimeoutError,
)
from ._models import Speech
from ._retry import RetryPolicy, is_transient
from ._sweeps import Sweeper, SweepJob, account_of, status_key
from ._waiting import Backend, WaitOptions, notify

__all__ = ["Batch", "Completions"]

logger = logging.getLogger("pixverse_speech")

Result = Speech | SpeechError

#: At most this many rounds without trying the list again after repeated transient list errors.
MAX_LIST_REST = 15
#: After this many 429s of the list in a row, the account's jobs are polled by GET meanwhile.
RATE_LIMITED_ROUNDS_BEFORE_GETS = 4

_BACKOFF = RetryPolicy()


class _Job(SweepJob):
    """One pending job and what the batch knows about it."""

    __slots__ = ("key", "last", "swept_failed")

    def __init__(self, audio_id: str) -> None:
        super().__init__(audio_id)
        self.key: object = None  # the status of the last record passed to on_update
        self.last: Speech | None = None
        # Seen FAILED in a page: a GET still has to fetch fail_code/fail_reason.
        self.swept_failed: Speech | None = None


class _Group:
    """The pending jobs of one account (``email``), or of ids without one (``email is None``)."""

    def __init__(self, sweeper: Sweeper | None, pauses: Iterator[float]) -> None:
        self.sweeper = sweeper
        self.email = None if sweeper is None else sweeper.email
        self.pending: dict[str, _Job] = {}
        self.pauses = pauses
        self.pause_left = 0.0  # of the pause before the next round: the first round is at once
        self.sweeping = sweeper is not None
        self.extra_pause = 0.0
        self.rate_limited = 0
        self.list_failures = 0
        self.list_rest = 0
        self.last_error: SpeechError | None = None


class Batch:
    """The state of one ``wait_many``/``as_completed`` call; :meth:`run` moves it on."""

    def __init__(
        self,
        backend: Backend,
        audio_ids: Iterable[str],
        limiter: anyio.CapacityLimiter,
        options: WaitOptions,
        *,
        rng: random.Random,
        retry: RetryPolicy = _BACKOFF,
    ) -> None:
        self._backend = backend
        self._limiter = limiter
        self._options = options
        self._rng = rng
        self._retry = retry
        self._groups: dict[str | None, _Group] = {}
        for audio_id in audio_ids:
            email = account_of(audio_id)
            group = self._groups.get(email)
            if group is None:
                sweeper = None if email is None else Sweeper(email, self._read_page, backend.decode)
                group = _Group(sweeper, options.schedule.pauses(self._rng))
                self._groups[email] = group
            group.pending.setdefault(audio_id, _Job(audio_id))
        self.remaining = sum(len(group.pending) for group in self._groups.values())
        #: Results not yet handed out, in the order they were reached.
        self.ready: deque[tuple[str, Result]] = deque()
        self.deadline: float | None = None
        self._started = False
        self._stop = False
        self._stop_on_result = False
        self._pauses: set[anyio.CancelScope] = set()

    @property
    def done(self) -> bool:
        """Whether every job has its result (some may still be in :attr:`ready`)."""
        return self.remaining == 0

    async def run(self, *, until_result: bool = False) -> None:
        """Poll until every job has a result or, with ``until_result``, until one is ready.

        The deadline starts at the first call.  With ``until_result`` the rounds in progress when
        the first result arrives are completed (their requests are not wasted) and pauses are cut
        short; the next call takes up each account's schedule where it stopped.
        """
        if not self._started:
            self._started = True
            self.deadline = self._options.deadline()
        self._stop = until_result and bool(self.ready)
        self._stop_on_result = until_result
        if self._stop:
            return
        async with anyio.create_task_group() as tg:
            for group in self._groups.values():
                if group.pending:
                    tg.start_soon(self._drive, group, name=f"wait_many {group.email}")

    def _halt(self) -> None:
        """Stop every group at its next pause or round's end."""
        self._stop = True
        for scope in list(self._pauses):
            scope.cancel()

    # -- one account's rounds ----------------------------------------------------------------

    async def _drive(self, group: _Group) -> None:
        timing = _timing.current()
        while group.pending and not self._stop:
            now = timing.now()
            if self.deadline is not None and now >= self.deadline:
                await self._expire(group)
                return
            if group.pause_left > 0:
                # Relative pauses, as every wait takes them, so that scaled timing (tests'
                # fast_waits) scales them too; a pause cut short by as_completed resumes later.
                wait = group.pause_left
                if self.deadline is not None:
                    wait = min(wait, self.deadline - now)
                if await self._pause(wait):
                    group.pause_left -= wait
                else:
                    group.pause_left = max(0.0, group.pause_left - (timing.now() - now))
                continue
            if self._backend.is_closed:  # aclose() during a wait: the caller raises
                self._halt()
                return
            remaining = math.inf if self.deadline is None else self.deadline - now
            # The deadline also cuts short a round (requests and their retries) in flight.
            with anyio.move_on_after(remaining):
                await self._round(group)
            group.pause_left = max(next(group.pauses), group.extra_pause)
            group.extra_pause = 0.0

    async def _pause(self, seconds: float) -> bool:
        """Sleep ``seconds``; ``False`` if a result for as_completed cut the pause short."""
        if self._stop:
            return False
        with anyio.CancelScope() as scope:
            self._pauses.add(scope)
            try:
                await _timing.current().sleep(seconds)
            finally:
                self._pauses.discard(scope)
        return not scope.cancelled_caught

    async def _round(self, group: _Group) -> None:
        seen: set[str] = set()
        if group.sweeping and group.pending:
            if group.list_rest > 0:
                group.list_rest -= 1
            else:
                try:
                    assert group.sweeper is not None
                    seen |= await group.sweeper.sweep(group.pending, self._sighted(group))
                except RateLimitError as exc:
                    group.rate_limited += 1
                    group.last_error = exc
                    pause = self._retry.slow_down(
                        group.rate_limited - 1, exc.retry_after, self._rng
                    )
                    pause = self._slow_down(group, pause)
                    logger.info("list of %s is rate limited; pausing %.1fs", group.email, pause)
                    if group.rate_limited < RATE_LIMITED_ROUNDS_BEFORE_GETS:
                        return  # the account is busy: leave it alone this round
                except SpeechError as exc:
                    group.last_error = exc
                    if isinstance(exc, APIError) and exc.retry_after is not None:
                        self._slow_down(group, self._retry.capped(exc.retry_after))
                    if is_transient(exc):
                        group.list_failures += 1
                        # Rounds to rest the list grow as the retry backoff does: 0, 1, 3, 7...
                        growth = self._retry.ceiling(group.list_failures - 1)
                        group.list_rest = min(
                            round(growth / self._retry.initial_backoff) - 1, MAX_LIST_REST
                        )
                        logger.info("list of %s failed, polling by id: %s", group.email, exc)
                    else:
                        group.sweeping = False
                        logger.warning(
                            "list of %s failed, polling its jobs by id from now on: %s",
                            group.email,
                            exc,
                        )
                else:
                    group.rate_limited = 0
                    group.list_failures = 0
        to_get = [
            job
            for job in group.pending.values()
            if job.swept_failed is not None or job.audio_id not in seen
        ]
        if to_get:
            await self._get_all(group, to_get)

    def _slow_down(self, group: _Group, pause: float) -> float:
        """Make the group's next pause at least ``pause`` (a capped ``Retry-After``).

        Returns the pause taken.
        """
        group.extra_pause = max(group.extra_pause, pause)
        return pause

    # -- sweeps ------------------------------------------------------------------------------

    async def _read_page(self, email: str, offset: int) -> object:
        return await self._backend.read_page(email, offset, limiter=self._limiter)

    def _sighted(self, group: _Group) -> Callable[[SweepJob, Speech], Awaitable[None]]:
        async def observe(job: SweepJob, speech: Speech) -> None:
            own = group.pending.get(job.audio_id)
            if own is None:
                return
            if speech.is_failed:
                own.swept_failed = speech  # fetched by GET for fail_code/fail_reason
                own.held = True
            else:
                await self._observe(group, own, speech)

        return observe

    # -- gets --------------------------------------------------------------------------------

    async def _get_all(self, group: _Group, jobs: list[_Job]) -> None:
        queue = deque(jobs)

        async def worker() -> None:
            while queue:
                await self._poll(group, queue.popleft())

        workers = min(len(queue), math.ceil(self._limiter.total_tokens))
        if workers <= 1:
            await worker()
            return
        async with anyio.create_task_group() as tg:
            for _ in range(workers):
                tg.start_soon(worker)

    async def _poll(self, group: _Group, job: _Job) -> None:
        if job.audio_id not in group.pending:
            return
        try:
            speech = await self._backend.fetch(
                job.audio_id, limiter=self._limiter, deadline=self.deadline
            )
        except SpeechError as exc:
            if not is_transient(exc):
                self._deliver(group, job, exc)
                return
            logger.info("poll of %s failed, waiting on: %s", job.audio_id, exc)
            job.last_error = exc
            if isinstance(exc, APIError) and exc.retry_after is not None:
                self._slow_down(group, self._retry.capped(exc.retry_after))
            return
        job.swept_failed = None
        job.held = False
        await self._observe(group, job, speech)

    # -- results -----------------------------------------------------------------------------

    async def _observe(self, group: _Group, job: _Job, speech: Speech) -> None:
        key = status_key(speech)
        if key != job.key:
            job.key = key
            try:
                await notify(self._options.on_update, speech)
            except SpeechError as exc:
                self._deliver(group, job, exc)
                return
        job.last = speech
        if speech.is_final:
            if speech.is_failed and self._options.raise_on_failure:
                self._deliver(group, job, SpeechFailedError(speech))
            else:
                self._deliver(group, job, speech)

    async def _expire(self, group: _Group) -> None:
        timeout = self._options.timeout
        assert timeout is not None  # a deadline comes from a timeout
        for job in list(group.pending.values()):
            if job.swept_failed is not None:
                # Known to have FAILED; only its reason could not be fetched in time.
                await self._observe(group, job, job.swept_failed)
                continue
            last_error = job.last_error or group.last_error
            error = WaitTimeoutError(
                job.audio_id, timeout=timeout, last=job.last, last_error=last_error
            )
            error.__cause__ = last_error
            self._deliver(group, job, error)

    def _deliver(self, group: _Group, job: _Job, result: Result) -> None:
        if group.pending.pop(job.audio_id, None) is None:
            return
        self.ready.append((job.audio_id, result))
        self.remaining -= 1
        if self._stop_on_result and not self._stop:
            self._halt()


class Completions(AsyncIterator[tuple[str, Result]]):
    """The async iterator ``AsyncSpeechAPI.as_completed`` returns.

    Each ``__anext__`` runs the batch until a result is ready; no task outlives it, so breaking
    out of the loop (or cancelling it) leaves nothing running.  ``aclose()`` ends it early.
    """

    def __init__(self, guard: Callable[[], AbstractContextManager[None]], batch: Batch) -> None:
        self._guard = guard
        self._batch: Batch | None = batch

    def __aiter__(self) -> Completions:
        return self

    async def __anext__(self) -> tuple[str, Result]:
        batch = self._batch
        if batch is None:
            raise StopAsyncIteration
        while not batch.ready:
            if batch.done:
                self._batch = None
                raise StopAsyncIteration
            with self._guard():
                await batch.run(until_result=True)
        return batch.ready.popleft()

    async def aclose(self) -> None:
        """Stop: the iterator yields nothing more.  Nothing runs between items, so this is all."""
        self._batch = None
