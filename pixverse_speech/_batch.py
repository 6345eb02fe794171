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

import copy
import logging
import math
import random
import re
from collections import deque
from collections.abc import AsyncIterator, Iterable, Iterator, Sequence
from typing import TYPE_CHECKING

import anyio
import attrs

from . import _timing
from ._client import _is_transient, _notify
from ._exceptions import (
    APIError,
    RateLimitError,
    ResponseDecodeError,
    SpeechError,
    SpeechFailedError,
    WaitTimeoutError,
)
from ._http import Sender
from ._models import Speech
from ._retry import RetryPolicy

if TYPE_CHECKING:
    from ._client import AsyncSpeechAPI, _WaitOptions

__all__ = [
    "PAGE_SIZE",
    "Batch",
    "Completions",
    "account_of",
    "wait_many",
    "wait_many_per_id",
]

logger = logging.getLogger("pixverse_speech")

Result = Speech | SpeechError

#: The list endpoint, and the jobs a sweep asks it for per request.
LIST_PATH = "pixverse/speech/"
PAGE_SIZE = 50
#: Discovery gives up after this many pages in a row without a pending id (more when many ids are
#: still unseen: one page per 25 of them).
HITLESS_PAGES = 2
#: A job expected in a window but not there this many rounds in a row is polled by GET only.
MISSES_BEFORE_ABSENT = 2
#: Extra pages a round may read for jobs its planned pages missed (pushed down by new jobs).
RECOVERY_PASSES = 1
#: At most this many rounds without trying the list again after repeated transient list errors.
MAX_LIST_REST = 15
#: After this many 429s of the list in a row, the account's jobs are polled by GET meanwhile.
RATE_LIMITED_ROUNDS_BEFORE_GETS = 4

_ID_RE = re.compile(r"user:[^:\s]+?-pixverse:(?P<email>\S+)-speech:\d+")
_BACKOFF = RetryPolicy()


def account_of(audio_id: str) -> str | None:
    """The account email inside ``audio_id``, or ``None`` when the id does not have the format."""
    match = _ID_RE.fullmatch(audio_id)
    return match.group("email") if match is not None else None


def _status_key(speech: Speech) -> tuple[object, ...]:
    return (speech.audio_status, speech.audio_status_name, speech.audio_status_final)


def _plan_windows(expected: list[tuple[int, _Job]]) -> list[int]:
    """Where pages should start to cover every run of two or more expected jobs.

    A job alone within a page's reach is left out: a GET of it costs what the page costs.
    """
    ordered = sorted(expected, key=lambda item: item[0])
    windows: list[int] = []
    i = 0
    while i < len(ordered):
        start = ordered[i][0]
        j = i + 1
        while j < len(ordered) and ordered[j][0] < start + PAGE_SIZE:
            j += 1
        if j - i >= 2:
            windows.append(start)
        i = j
    return windows


def _median(values: Sequence[int]) -> int:
    ordered = sorted(values)
    return ordered[len(ordered) // 2]


class _Page:
    """What a sweep needs of a list page: its raw records and where the list goes on."""

    __slots__ = ("has_more", "next_offset", "records")

    def __init__(self, records: list[object], has_more: bool | None, next_offset: int | None):
        self.records = records
        self.has_more = has_more
        self.next_offset = next_offset

    @classmethod
    def of(cls, body: object) -> _Page:
        records = body.get("data", []) if isinstance(body, dict) else None
        if not isinstance(body, dict) or not isinstance(records, list):
            raise ResponseDecodeError(
                "unexpected SpeechPage from the API: expected an object whose 'data' is a list"
            )
        has_more = body.get("has_more")
        following = body.get("next_offset")
        return cls(
            records,
            has_more if isinstance(has_more, bool) else None,
            following if isinstance(following, int) and not isinstance(following, bool) else None,
        )


class _Job:
    """One pending job and what the engine knows about it."""

    __slots__ = (
        "absent",
        "audio_id",
        "key",
        "last",
        "last_error",
        "misses",
        "norm",
        "swept_failed",
    )

    def __init__(self, audio_id: str) -> None:
        self.audio_id = audio_id
        self.key: object = None  # the status of the last record passed to on_update
        self.last: Speech | None = None
        self.last_error: SpeechError | None = None
        # Where the job was last seen in its account's list, less the group's ``shift`` then.
        self.norm: int | None = None
        # Not found where a sweep looked for it: polled by GET unless a page happens to show it.
        self.absent = False
        self.misses = 0
        # Seen FAILED in a page: a GET still has to fetch fail_code/fail_reason.
        self.swept_failed: Speech | None = None


class _Group:
    """The pending jobs of one account (``email``), or of ids without one (``email is None``)."""

    def __init__(self, email: str | None, pauses: Iterator[float]) -> None:
        self.email = email
        self.pending: dict[str, _Job] = {}
        self.pauses = pauses
        self.pause_left = 0.0  # of the pause before the next round: the first round is at once
        self.sweeping = email is not None
        # How far new jobs have pushed this account's list down since the first sweep.
        self.shift = 0
        self.drift = 0  # how far the list moved between the last two sweeps
        self.extra_pause = 0.0
        self.rate_limited = 0
        self.list_failures = 0
        self.list_rest = 0
        self.last_error: SpeechError | None = None


class Batch:
    """The state of one ``wait_many``/``as_completed`` call; :meth:`run` moves it on."""

    def __init__(
        self,
        api: AsyncSpeechAPI,
        audio_ids: Iterable[str],
        limiter: anyio.CapacityLimiter,
        options: _WaitOptions,
        *,
        rng: random.Random | None = None,
    ) -> None:
        self._api = api
        self._limiter = limiter
        self._options = options
        self._rng = rng if rng is not None else api._rng
        self._groups: dict[str | None, _Group] = {}
        for audio_id in audio_ids:
            email = account_of(audio_id)
            group = self._groups.get(email)
            if group is None:
                group = _Group(email, options.schedule.pauses(self._rng))
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
        self._sweep_sender: Sender | None = None

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
        self._api._check_open()

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
            if self._api.is_closed:  # aclose() during a wait: run() raises RuntimeError
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
                    await self._sweep(group, seen)
                except RateLimitError as exc:
                    group.rate_limited += 1
                    group.last_error = exc
                    pause = exc.retry_after
                    if pause is None:
                        pause = _BACKOFF.backoff(group.rate_limited - 1, self._rng)
                    pause = self._slow_down(group, pause)
                    logger.info("list of %s is rate limited; pausing %.1fs", group.email, pause)
                    if group.rate_limited < RATE_LIMITED_ROUNDS_BEFORE_GETS:
                        return  # the account is busy: leave it alone this round
                except SpeechError as exc:
                    group.last_error = exc
                    if isinstance(exc, APIError) and exc.retry_after is not None:
                        self._slow_down(group, exc.retry_after)
                    if _is_transient(exc):
                        group.list_failures += 1
                        group.list_rest = min(2 ** (group.list_failures - 1) - 1, MAX_LIST_REST)
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
        """Make the group's next pause at least ``pause`` (a server's ``Retry-After``).

        Not capped, as in a single wait: the server said when to come back, and the batch's
        deadline bounds the pause.  Returns the pause taken.
        """
        group.extra_pause = max(group.extra_pause, pause)
        return pause

    # -- sweeps ------------------------------------------------------------------------------

    async def _sweep(self, group: _Group, seen: set[str]) -> None:
        """Look at the group's pending jobs through list pages; ``seen`` gets every id observed."""
        unknown = [
            job
            for job in group.pending.values()
            if job.norm is None and not job.absent and job.swept_failed is None
        ]
        if len(unknown) == 1:
            unknown[0].absent = True  # one job: a GET costs what a page costs
            unknown = []
        sightings: list[tuple[_Job, int]] = []
        if unknown:
            await self._discover(group, seen, sightings)
        else:
            await self._windows(group, seen, sightings)
        # Every job that moved moved by the same count of newer jobs: keep the median as shift.
        moves = [pos - job.norm for job, pos in sightings if job.norm is not None]
        if moves:
            shift = _median(moves)
            group.drift, group.shift = shift - group.shift, shift
        for job, pos in sightings:
            job.norm = pos - group.shift
            job.absent = False
            job.misses = 0

    async def _discover(
        self, group: _Group, seen: set[str], sightings: list[tuple[_Job, int]]
    ) -> None:
        unseen = {
            job.audio_id
            for job in group.pending.values()
            if not job.absent and job.swept_failed is None
        }
        offset = 0
        hitless = 0
        while len(unseen) >= 2:
            before = len(unseen)
            page = await self._read(group, offset, seen, sightings, unseen)
            hitless = 0 if len(unseen) < before else hitless + 1
            received = len(page.records)
            if received == 0 or page.has_more is False:
                break
            if page.has_more is None and received < PAGE_SIZE:
                break
            if hitless >= max(HITLESS_PAGES, len(unseen) // 25):
                break
            following = page.next_offset
            offset = (
                following if following is not None and following > offset else offset + received
            )
        for audio_id in unseen:
            job = group.pending.get(audio_id)
            if job is not None:
                self._missed(job, looked_everywhere=True)

    async def _windows(
        self, group: _Group, seen: set[str], sightings: list[tuple[_Job, int]]
    ) -> None:
        expected = [
            (job.norm + group.shift, job)
            for job in group.pending.values()
            if job.norm is not None and job.swept_failed is None
        ]
        # How far the jobs of the last page read were from where they were expected: jobs
        # created meanwhile push the rest of the list down, even while this sweep reads it.  The
        # first guess: as far as the list moved between the last two sweeps.
        shift = group.drift
        for _ in range(1 + RECOVERY_PASSES):
            windows = _plan_windows(expected)
            if not windows:
                break
            for start in windows:
                first = len(sightings)
                await self._read(group, max(0, start + shift), seen, sightings, None)
                errors = [
                    pos - (job.norm + group.shift)
                    for job, pos in sightings[first:]
                    if job.norm is not None
                ]
                if errors:
                    shift = _median(errors)
            # Another pass over the jobs the windows missed, where they have moved to by now.
            expected = [
                (where, job)
                for where, job in expected
                if job.audio_id not in seen and job.audio_id in group.pending
            ]
        for _, job in expected:
            if job.audio_id not in seen and job.audio_id in group.pending:
                self._missed(job, looked_everywhere=False)

    def _missed(self, job: _Job, *, looked_everywhere: bool) -> None:
        job.misses += 1
        if looked_everywhere or job.misses >= MISSES_BEFORE_ABSENT:
            job.norm = None
            job.absent = True

    async def _read(
        self,
        group: _Group,
        offset: int,
        seen: set[str],
        sightings: list[tuple[_Job, int]],
        unseen: set[str] | None,
    ) -> _Page:
        """Fetch one page at ``offset`` and observe every pending job on it.

        Only the records of pending jobs are decoded: the rest of the page costs no CPU, and a
        malformed record of some other job does not spoil the page.
        """
        assert group.email is not None
        params: dict[str, str | int] = {"email": group.email, "limit": PAGE_SIZE, "offset": offset}
        body = await self._list_sender().request(
            "GET", LIST_PATH, params=params, limiter=self._limiter
        )
        page = _Page.of(body)
        for index, record in enumerate(page.records):
            audio_id = record.get("audio_id") if isinstance(record, dict) else None
            if not isinstance(audio_id, str) or audio_id in seen:
                continue
            job = group.pending.get(audio_id)
            if job is None:
                continue
            try:
                speech = self._api._decode(record, Speech, audio_id)
            except ResponseDecodeError as exc:
                logger.info("unreadable list record of %s, polling it by id: %s", audio_id, exc)
                job.last_error = exc
                continue
            seen.add(audio_id)
            if unseen is not None:
                unseen.discard(audio_id)
            sightings.append((job, offset + index))
            if speech.is_failed:
                job.swept_failed = speech  # fetched by GET below for fail_code/fail_reason
            else:
                await self._observe(group, job, speech)
        return page

    def _list_sender(self) -> Sender:
        """The client's sender without retries, for list pages.

        A failed page is not worth a retry's pause: this round's GETs stand in for it at once,
        and a 429 is waited out by the account's next round.  It shares the client-wide limit
        of requests in flight (created first, so that the copy holds the same one).
        """
        if self._sweep_sender is None:
            sender = self._api._sender
            _ = sender.limiter
            clone = copy.copy(sender)
            clone.retry = attrs.evolve(sender.retry, max_retries=0)
            self._sweep_sender = clone
        return self._sweep_sender

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
            speech = await self._api._get(job.audio_id, self._limiter, self.deadline)
        except SpeechError as exc:
            if not _is_transient(exc):
                self._deliver(group, job, exc)
                return
            logger.info("poll of %s failed, waiting on: %s", job.audio_id, exc)
            job.last_error = exc
            if isinstance(exc, APIError) and exc.retry_after is not None:
                self._slow_down(group, exc.retry_after)
            return
        job.swept_failed = None
        await self._observe(group, job, speech)

    # -- results -----------------------------------------------------------------------------

    async def _observe(self, group: _Group, job: _Job, speech: Speech) -> None:
        key = _status_key(speech)
        if key != job.key:
            job.key = key
            try:
                await _notify(self._options.on_update, speech)
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


async def wait_many(
    api: AsyncSpeechAPI, audio_ids: list[str], limit: int, options: _WaitOptions
) -> list[Result]:
    """``AsyncSpeechAPI.wait_many`` once its arguments are checked: one result per id, in order."""
    batch = Batch(api, audio_ids, anyio.CapacityLimiter(limit), options)
    await batch.run()
    results = dict(batch.ready)
    return [results[audio_id] for audio_id in audio_ids]


async def wait_many_per_id(
    api: AsyncSpeechAPI, audio_ids: list[str], limit: int, options: _WaitOptions
) -> list[Result]:
    """The per-id way: one ``_wait`` task per distinct id, each polling with GET only.

    Kept as the yardstick the sweeps are measured against (tests and benchmarks).
    """
    deadline = options.deadline()
    limiter = anyio.CapacityLimiter(limit)
    results: dict[str, Result] = {}

    async def wait_one(audio_id: str) -> None:
        try:
            results[audio_id] = await api._wait(audio_id, options, deadline, limiter)
        except SpeechError as exc:
            results[audio_id] = exc

    async with anyio.create_task_group() as tg:
        for audio_id in dict.fromkeys(audio_ids):
            tg.start_soon(wait_one, audio_id, name=f"wait {audio_id}")
    return [results[audio_id] for audio_id in audio_ids]


class Completions(AsyncIterator[tuple[str, Result]]):
    """The async iterator ``AsyncSpeechAPI.as_completed`` returns.

    Each ``__anext__`` runs the batch until a result is ready; no task outlives it, so breaking
    out of the loop (or cancelling it) leaves nothing running.  ``aclose()`` ends it early.
    """

    def __init__(self, api: AsyncSpeechAPI, batch: Batch) -> None:
        self._api = api
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
            self._api._check_open()
            await batch.run(until_result=True)
        return batch.ready.popleft()

    async def aclose(self) -> None:
        """Stop: the iterator yields nothing more.  Nothing runs between items, so this is all."""
        self._batch = None
