"""Paging through every job: ``AsyncSpeechAPI.iter_speech``.

The list is newest first by offset, and it moves while we read it: a job created between two page
fetches pushes every older job one offset later, so the next page starts with jobs already seen.
The iterator remembers the ids it yielded most recently and skips them when they come round again.
It remembers a bounded number (``RECENT_IDS``, or two pages if that is more): a shift only repeats
ids from near the page boundary, and a shift of thousands of jobs within one walk is beyond what an
account produces, so memory stays flat (about 1.5 MB at most) however many jobs are paged through.
No order of ids or timestamps is assumed.

Nor is ``next_offset`` trusted beyond what was read: the next page starts at
``min(next_offset, offset + len(data))``, since re-reading rows is harmless (their ids are skipped)
and skipping rows is not (a server that caps ``limit`` would lose them).  A listing that stops
advancing (:data:`MAX_STALLED_PAGES` pages in a row without a new id) ends with a
:class:`SpeechError` rather than being fetched for ever.

It is an iterator class rather than an async generator so that dropping it half-way leaves no
unfinished generator behind for the event loop to finalise (trio warns about those).
"""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Awaitable, Callable

from ._exceptions import SpeechError
from ._models import Speech, SpeechPage

__all__ = ["MAX_STALLED_PAGES", "RECENT_IDS", "SpeechIterator"]

logger = logging.getLogger("pixverse_speech")

#: How many of the latest yielded ids a walk remembers to skip repeats.
RECENT_IDS = 10_000
#: Pages in a row that bring no new id after which a walk gives up.
MAX_STALLED_PAGES = 5


class SpeechIterator:
    """Yields every job of a listing once, newest first, fetching pages as they are needed."""

    def __init__(
        self,
        fetch: Callable[[int], Awaitable[SpeechPage]],
        *,
        page_size: int,
        offset: int,
    ) -> None:
        self._fetch = fetch
        self._page_size = page_size
        self._offset = offset
        self._buffer: deque[Speech] = deque()
        self._done = False
        self._recent: deque[str] = deque(maxlen=max(RECENT_IDS, 2 * page_size))
        self._recent_set: set[str] = set()
        self._stalled = 0

    def __aiter__(self) -> SpeechIterator:
        return self

    async def __anext__(self) -> Speech:
        while not self._buffer:
            if self._done:
                raise StopAsyncIteration
            await self._next_page()
        return self._buffer.popleft()

    async def aclose(self) -> None:
        """Stop paging; nothing else is fetched."""
        self._done = True
        self._buffer.clear()

    def _is_new(self, speech: Speech) -> bool:
        audio_id = speech.audio_id
        if audio_id in self._recent_set:
            return False
        if len(self._recent) == self._recent.maxlen:
            self._recent_set.discard(self._recent[0])
        self._recent.append(audio_id)
        self._recent_set.add(audio_id)
        return True

    async def _next_page(self) -> None:
        offset = self._offset
        page = await self._fetch(offset)
        before = len(self._buffer)
        self._buffer.extend(speech for speech in page.data if self._is_new(speech))
        received = len(page.data) + page.skipped  # a skipped record still took its offset
        self._stalled = 0 if len(self._buffer) > before else self._stalled + 1
        if (
            page.has_more is False
            or received == 0
            or (page.has_more is None and received < self._page_size)
        ):
            self._done = True
            return
        if self._stalled >= MAX_STALLED_PAGES:
            self._done = True
            raise SpeechError(
                f"the listing is not advancing: {self._stalled} pages in a row (the last at "
                f"offset {offset}) brought no job not already seen, yet say there is more"
            )
        read_up_to = offset + received
        following = page.next_offset
        if following is None or following <= offset:
            if following is not None:
                logger.warning(
                    "next_offset %d does not advance past offset %d; using %d",
                    following,
                    offset,
                    read_up_to,
                )
            following = read_up_to
        self._offset = min(following, read_up_to)
