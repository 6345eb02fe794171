"""Property: paging while jobs arrive and disappear between page fetches never yields an id twice
and always ends within a bound.

The API lists jobs newest first by offset, so a job created while a client pages shifts every
older job one offset later (the next page repeats one), and a deleted job shifts them one earlier
(the next page skips one).  The mock below is a list that a hypothesis-drawn script changes after
every page fetch, answering in each of the shapes a page can take.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import attrs
import httpx
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st
from reliability_support import DETERMINISTIC

from pixverse_speech import AsyncSpeechAPI, SpeechError
from pixverse_speech._paging import MAX_STALLED_PAGES

pytestmark = pytest.mark.anyio

TOKEN = "user:1-reliability-token"
BASE_URL = "http://paging.test/v2/"

#: How a page says where the next one starts: the API's full shape, without ``has_more``, with
#: nothing but ``data``, or with a ``next_offset`` that never advances.
STYLES = ("full", "no_has_more", "bare", "stuck")


@attrs.frozen
class Change:
    """What happens to the job list after one page fetch: new jobs, then deletions."""

    inserted: int
    deleted: tuple[int, ...]  # positions, taken modulo the list's length at the time


@attrs.frozen
class Scenario:
    initial: int
    page_size: int
    style: str
    script: tuple[Change, ...]

    @property
    def most_jobs(self) -> int:
        """An upper bound on the list's length at any time."""
        return self.initial + sum(change.inserted for change in self.script)

    @property
    def floods(self) -> bool:
        """Whether jobs arrive fast enough that MAX_STALLED_PAGES pages in a row may be repeats.

        Only then may a walk end with the error that guards against a listing that does not
        advance.  ``lag`` counts the rows already yielded that insertions pushed past the next
        offset: a (full) page holds nothing new while it is at least a page.  Deletions only
        shorten it, so insertions alone give the most it can be.
        """
        lag = run = 0
        for inserted in [c.inserted for c in self.script] + [0] * (self.most_jobs + 1):
            lag += inserted
            if lag >= self.page_size:
                lag -= self.page_size
                run += 1
                if run >= MAX_STALLED_PAGES:
                    return True
            else:
                lag = run = 0
        return False

    @property
    def fetch_bound(self) -> int:
        """Every page but the last is full and moves the offset on by ``page_size``."""
        return self.most_jobs // self.page_size + 1


changes = st.builds(
    Change,
    inserted=st.integers(0, 12),
    deleted=st.lists(st.integers(0, 200), max_size=4).map(tuple),
)
scenarios = st.builds(
    Scenario,
    initial=st.integers(0, 40),
    page_size=st.integers(1, 8),
    style=st.sampled_from(STYLES),
    script=st.lists(changes, max_size=12).map(tuple),
)


class ShiftingList:
    """GET ``speech/`` over a list of jobs, newest first, that the script changes between pages."""

    def __init__(self, scenario: Scenario) -> None:
        self.scenario = scenario
        self.next_number = 0
        self.jobs: list[str] = []
        self._insert(scenario.initial)
        self.original = set(self.jobs)
        self.deleted: set[str] = set()
        self.fetches = 0
        self.stalled = ""  # the error that ended the walk as not advancing
        self._script: Iterator[Change] = iter(scenario.script)

    def _insert(self, count: int) -> None:
        for _ in range(count):
            self.jobs.insert(0, f"user:1-pixverse:a@b.c-speech:{self.next_number}")
            self.next_number += 1

    def handle(self, request: httpx.Request) -> httpx.Response:
        self.fetches += 1
        # A client that loops would never end this test: stop it well past the bound.
        assert self.fetches <= 10 * self.scenario.fetch_bound + 10, "paging does not terminate"
        limit = int(request.url.params["limit"])
        offset = int(request.url.params.get("offset", "0"))
        page = self.jobs[offset : offset + limit]
        body: dict[str, Any] = {"data": [{"audio_id": a, "audio_status": 1} for a in page]}
        style = self.scenario.style
        if style in ("full", "no_has_more"):
            body["next_offset"] = offset + limit
        elif style == "stuck":
            body["next_offset"] = offset
        if style in ("full", "stuck"):
            body["has_more"] = len(self.jobs) > offset + limit
        self._change()
        return httpx.Response(200, json=body)

    def _change(self) -> None:
        change = next(self._script, None)
        if change is None:
            return
        self._insert(change.inserted)
        for position in change.deleted:
            if self.jobs:
                self.deleted.add(self.jobs.pop(position % len(self.jobs)))


async def page_through(scenario: Scenario) -> tuple[list[str], ShiftingList]:
    """The ids a walk yields; a walk ended as not advancing must have met a flood of jobs."""
    mock = ShiftingList(scenario)
    seen: list[str] = []
    async with AsyncSpeechAPI(
        TOKEN, base_url=BASE_URL, transport=httpx.MockTransport(mock.handle), max_retries=0
    ) as api:
        try:
            async for speech in api.iter_speech(page_size=scenario.page_size):
                if speech.audio_id is not None:
                    seen.append(speech.audio_id)
        except SpeechError as exc:
            mock.stalled = str(exc)
    if mock.stalled:
        assert "not advancing" in mock.stalled
        assert scenario.floods, f"a walk that advances was stopped: {mock.stalled}"
    return seen, mock


@settings(DETERMINISTIC, max_examples=80)
@given(scenario=scenarios)
async def test_paging_terminates_within_bound(scenario: Scenario) -> None:
    """Paging while jobs are inserted and deleted ends within (most jobs // page size + 1) pages."""
    seen, mock = await page_through(scenario)
    assert mock.fetches <= scenario.fetch_bound
    assert len(seen) <= scenario.most_jobs


@settings(DETERMINISTIC, max_examples=80)
@given(scenario=scenarios)
@example(
    # Page 1 yields the newest job; three new jobs push it to offset 3, where page 4 finds it
    # again after two others were yielded (more than the 2 * page_size ids the client keeps).
    scenario=Scenario(initial=2, page_size=1, style="full", script=(Change(3, ()),))
)
async def test_paging_never_yields_an_id_twice(scenario: Scenario) -> None:
    """However many jobs arrive or vanish between page fetches, no audio_id is yielded twice."""
    seen, _ = await page_through(scenario)
    repeated = sorted({audio_id for audio_id in seen if seen.count(audio_id) > 1})
    assert not repeated, f"yielded more than once: {repeated}"


@settings(DETERMINISTIC, max_examples=60)
@given(
    scenario=scenarios.map(
        lambda s: attrs.evolve(s, script=tuple(Change(c.inserted, ()) for c in s.script))
    )
)
async def test_paging_with_only_insertions_misses_no_older_job(scenario: Scenario) -> None:
    """When jobs only arrive while paging, every job that existed at the start is yielded."""
    seen, mock = await page_through(scenario)
    assert mock.stalled or mock.original <= set(seen)
