"""Looking at many pending jobs of one account through its list pages.

The list endpoint returns up to 50 jobs of one account per request, newest first, so one request
can look at 50 pending jobs where per-id polling spends 50.  A :class:`Sweeper` holds what it
learnt about where an account's pending jobs sit in that list and reads pages to observe them:

- the first sweep *discovers* where the jobs are: pages from offset 0 until every pending id was
  seen, the list ends, too few ids are left to be worth a page, or several pages in a row held
  none of them (old jobs deep in the list are left to GETs).
- later sweeps fetch only *windows*: 50 jobs from the offset where a run of at least two pending
  jobs was last seen, shifted by how far new jobs pushed the list down; a job alone in its window
  is cheaper to GET.  Any page that shows a pending job counts as an observation, wherever it was
  expected.
- only the records of pending jobs are decoded: the rest of a page costs no CPU, and a malformed
  record of some other job does not spoil the page.

The sweeper sends no request itself: the caller gives it a page reader, a decoder and an observer,
so that ``wait_many``/``as_completed`` (``_batch``) and the client's wait engine (``_engine``)
share it.  Errors of a page propagate to the caller, which decides (through ``_retry``'s policy)
whether they slow the account down, fall back to GETs or end the sweeping.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Awaitable, Callable, Mapping, Sequence

from ._exceptions import ResponseDecodeError, SpeechError
from ._models import Speech

__all__ = [
    "LIST_PATH",
    "PAGE_SIZE",
    "Page",
    "SweepJob",
    "Sweeper",
    "account_of",
    "status_key",
]

logger = logging.getLogger("pixverse_speech")

#: The list endpoint, and the jobs a sweep asks it for per request.
LIST_PATH = "pixverse/speech/"
PAGE_SIZE = 50
#: Discovery gives up after this many pages in a row without a pending id (more when many ids are
#: still unseen: one page per 25 of them).
HITLESS_PAGES = 2
#: A job expected in a window but not there this many sweeps in a row is polled by GET only.
MISSES_BEFORE_ABSENT = 2
#: Extra pages a sweep may read for jobs its planned pages missed (pushed down by new jobs).
RECOVERY_PASSES = 1

_ID_RE = re.compile(r"user:[^:\s]+?-pixverse:(?P<email>\S+)-speech:\d+")

#: Reads the page of ``email``'s list at ``offset`` (``PAGE_SIZE`` jobs) and returns its raw body.
PageReader = Callable[[str, int], Awaitable[object]]
#: Decodes one raw list record of ``audio_id`` (raising :class:`ResponseDecodeError`).
Decoder = Callable[[object, str], Speech]


def account_of(audio_id: str) -> str | None:
    """The account email inside ``audio_id``, or ``None`` when the id does not have the format.

    Ids look like ``user:<n>-pixverse:<email>-speech:<n>``; the email may contain ``-``.
    """
    match = _ID_RE.fullmatch(audio_id)
    return match.group("email") if match is not None else None


def status_key(speech: Speech) -> tuple[object, ...]:
    """What ``on_update`` compares: a record is passed on when this differs from the last one."""
    return (speech.audio_status, speech.audio_status_name, speech.audio_status_final)


def _median(values: Sequence[int]) -> int:
    ordered = sorted(values)
    return ordered[len(ordered) // 2]


class Page:
    """What a sweep needs of a list page: its raw records and where the list goes on."""

    __slots__ = ("has_more", "next_offset", "records")

    def __init__(self, records: list[object], has_more: bool | None, next_offset: int | None):
        self.records = records
        self.has_more = has_more
        self.next_offset = next_offset

    @classmethod
    def of(cls, body: object) -> Page:
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

    def ends_list(self) -> bool:
        """Whether no page follows this one: empty, ``has_more == false``, or a short page when
        the API does not say ``has_more`` (the rule ``iter_speech`` pages by too)."""
        received = len(self.records)
        if received == 0 or self.has_more is False:
            return True
        return self.has_more is None and received < PAGE_SIZE


class SweepJob:
    """One pending job as a sweep sees it: where it was last seen in its account's list."""

    __slots__ = ("absent", "audio_id", "held", "last_error", "misses", "norm")

    def __init__(self, audio_id: str) -> None:
        self.audio_id = audio_id
        # Where the job was last seen in its account's list, less the sweeper's ``shift`` then.
        self.norm: int | None = None
        # Not found where a sweep looked for it: polled by GET unless a page happens to show it.
        self.absent = False
        self.misses = 0
        # Left out of planning (its owner fetches it by GET next, e.g. seen final in a page).
        self.held = False
        self.last_error: SpeechError | None = None


Observer = Callable[[SweepJob, Speech], Awaitable[None]]


class Sweeper:
    """The list-page state of one account and the sweeps that use it."""

    def __init__(self, email: str, read_page: PageReader, decode: Decoder) -> None:
        self.email = email
        self._read_page = read_page
        self._decode = decode
        # How far new jobs have pushed this account's list down since the first sweep.
        self.shift = 0
        self.drift = 0  # how far the list moved between the last two sweeps

    async def sweep(self, pending: Mapping[str, SweepJob], observe: Observer) -> set[str]:
        """Look at ``pending`` through list pages; ``observe`` gets each record seen (in page
        order); returns the ids observed.  A page's error propagates, after what was observed."""
        seen: set[str] = set()
        unknown = [
            job for job in pending.values() if job.norm is None and not job.absent and not job.held
        ]
        if len(unknown) == 1:
            unknown[0].absent = True  # one job: a GET costs what a page costs
            unknown = []
        sightings: list[tuple[SweepJob, int]] = []
        try:
            if unknown:
                await self._discover(pending, observe, seen, sightings)
            else:
                await self._windows(pending, observe, seen, sightings)
        finally:
            self._locate(sightings)
        return seen

    def _locate(self, sightings: list[tuple[SweepJob, int]]) -> None:
        # Every job that moved moved by the same count of newer jobs: keep the median as shift.
        moves = [pos - job.norm for job, pos in sightings if job.norm is not None]
        if moves:
            shift = _median(moves)
            self.drift, self.shift = shift - self.shift, shift
        for job, pos in sightings:
            job.norm = pos - self.shift
            job.absent = False
            job.misses = 0

    async def _discover(
        self,
        pending: Mapping[str, SweepJob],
        observe: Observer,
        seen: set[str],
        sightings: list[tuple[SweepJob, int]],
    ) -> None:
        unseen = {job.audio_id for job in pending.values() if not job.absent and not job.held}
        offset = 0
        hitless = 0
        while len(unseen) >= 2:
            before = len(unseen)
            page = await self._read(pending, observe, offset, seen, sightings, unseen)
            hitless = 0 if len(unseen) < before else hitless + 1
            if page.ends_list():
                break
            if hitless >= max(HITLESS_PAGES, len(unseen) // 25):
                break
            following = page.next_offset
            offset = (
                following
                if following is not None and following > offset
                else offset + len(page.records)
            )
        for audio_id in unseen:
            job = pending.get(audio_id)
            if job is not None:
                self._missed(job, looked_everywhere=True)

    async def _windows(
        self,
        pending: Mapping[str, SweepJob],
        observe: Observer,
        seen: set[str],
        sightings: list[tuple[SweepJob, int]],
    ) -> None:
        expected = [
            (job.norm + self.shift, job)
            for job in pending.values()
            if job.norm is not None and not job.held
        ]
        # How far the jobs of the last page read were from where they were expected: jobs
        # created meanwhile push the rest of the list down, even while this sweep reads it.  The
        # first guess: as far as the list moved between the last two sweeps.
        shift = self.drift
        for _ in range(1 + RECOVERY_PASSES):
            windows = _plan_windows(expected)
            if not windows:
                break
            for start in windows:
                first = len(sightings)
                await self._read(pending, observe, max(0, start + shift), seen, sightings, None)
                errors = [
                    pos - (job.norm + self.shift)
                    for job, pos in sightings[first:]
                    if job.norm is not None
                ]
                if errors:
                    shift = _median(errors)
            # Another pass over the jobs the windows missed, where they have moved to by now.
            expected = [
                (where, job)
                for where, job in expected
                if job.audio_id not in seen and job.audio_id in pending
            ]
        for _, job in expected:
            if job.audio_id not in seen and job.audio_id in pending:
                self._missed(job, looked_everywhere=False)

    @staticmethod
    def _missed(job: SweepJob, *, looked_everywhere: bool) -> None:
        job.misses += 1
        if looked_everywhere or job.misses >= MISSES_BEFORE_ABSENT:
            job.norm = None
            job.absent = True

    async def _read(
        self,
        pending: Mapping[str, SweepJob],
        observe: Observer,
        offset: int,
        seen: set[str],
        sightings: list[tuple[SweepJob, int]],
        unseen: set[str] | None,
    ) -> Page:
        """Fetch one page at ``offset`` and observe every pending job on it."""
        page = Page.of(await self._read_page(self.email, offset))
        for index, record in enumerate(page.records):
            audio_id = record.get("audio_id") if isinstance(record, dict) else None
            if not isinstance(audio_id, str) or audio_id in seen:
                continue
            job = pending.get(audio_id)
            if job is None:
                continue
            try:
                speech = self._decode(record, audio_id)
            except ResponseDecodeError as exc:
                logger.info("unreadable list record of %s, polling it by id: %s", audio_id, exc)
                job.last_error = exc
                continue
            seen.add(audio_id)
            if unseen is not None:
                unseen.discard(audio_id)
            sightings.append((job, offset + index))
            await observe(job, speech)
        return page


def _plan_windows(expected: list[tuple[int, SweepJob]]) -> list[int]:
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
