"""Batch generation: many texts to final jobs within the account's capacity, never billed twice.

``generate_many`` and ``generate_as_completed`` are built on the client's public ``create()`` and
``wait_until_final()``: one create at a time, and one concurrent wait per running job, so the
client's wait engine watches the batch's jobs together.

- **Capacity.**  At most ``max_jobs`` jobs of the batch are unfinished at once, a create in flight
  counting as one: no create is attempted while ``max_jobs`` are unfinished.  A 429 on create (the
  account is busy with other jobs) pauses the batch (``Retry-After``, capped, else the client's
  jittered backoff) and the item is tried again: it never fails for it.
- **Billing safety.**  A create whose error says the job may exist (``job_may_exist``) is never
  repeated blindly: the account's list is read for a job of the same prompt and voice, created
  since the attempt and not claimed by another item, and such a job is adopted.  Only when a few
  looks (:data:`LOOKS`, a growing pause apart) find nothing is the item submitted again; when the
  list cannot be read at all the item ends with the create's error instead.
- **Nothing lost.**  ``on_created`` sees each id as soon as it exists; an item's error carries
  its ids in ``audio_ids``; a batch that fails as a whole raises :class:`BatchGenerationError`
  with the results so far and every id created, by item.
- **Pauses** go through ``_timing`` like every wait.  A create in flight is never cut short (that
  would lose the id of a job that may exist): the deadline, ``aclose()`` of an iteration, or a
  cancellation waits for it.

Between two items of :class:`GenerationCompletions` no task runs: each step runs the batch until a
result is ready, lets a create in flight finish and stops the waits; the next step takes them up.
"""

from __future__ import annotations

import builtins
import inspect
import logging
import random
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any

import anyio
from anyio.abc import TaskGroup

from . import _timing
from ._checks import check_int, shown
from ._create import MAX_JOBS_RANGE, CreateRequest, build_create_request
from ._exceptions import (
    AccountError,
    APIConnectionError,
    AuthenticationError,
    BatchGenerationError,
    GenerationFailedError,
    InsufficientCreditsError,
    PaymentRequiredError,
    RateLimitError,
    SpeechError,
    WaitTimeoutError,
)
from ._models import Speech
from ._retry import RetryPolicy
from ._waiting import check_timeout

if TYPE_CHECKING:
    from ._client import AsyncSpeechAPI
    from ._waiting import OnUpdate

__all__ = [
    "CREATE_SETTINGS",
    "Generation",
    "GenerationCompletions",
    "OnCreated",
    "check_items",
    "check_max_jobs",
    "generate_many",
    "prepare",
]

logger = logging.getLogger("pixverse_speech")

Result = Speech | SpeechError

#: Called with ``(index, audio_id)`` as soon as a job of the batch exists (sync or async).
OnCreated = Callable[[int, str], "Awaitable[object] | object"]

#: The keyword settings of ``create()`` an item or the batch may carry besides text and voice.
CREATE_SETTINGS = (
    "model",
    "email",
    "language_code",
    "speed",
    "volume",
    "pitch",
    "emotion",
    "stability",
    "similarity_boost",
    "style",
    "use_speaker_boost",
    "reply_url",
    "reply_ref",
    "max_jobs",
)
_ITEM_KEYS = frozenset(("text", "voice_id", *CREATE_SETTINGS))

#: How many times the list is read for a job whose create may have landed, before resubmitting.
LOOKS = 3
#: The pause before the second look; it doubles before each later one (list pages may lag).
LOOK_PAUSE = 2.0
#: List pages (of 50 jobs, newest first) one look reads.
LOOK_PAGES = 2
#: Seconds of slack in "created since the attempt": whole-second timestamps, clock jitter.
SINCE_SLACK = 2.0
#: Creates of one item that may have landed and were not found, before the item gives up.
MAX_UNFOUND = 3
#: Creates of one item that never reached the API (connection refused), before it gives up.
MAX_UNSENT = 3
#: Errors that concern the account, not an item: the batch stops rather than fail every item.
_BATCH_ERRORS = (AuthenticationError, PaymentRequiredError, InsufficientCreditsError, AccountError)

_BACKOFF = RetryPolicy()


class _Item:
    """One item of the batch and where it stands."""

    __slots__ = (
        "email",
        "failed",
        "ids",
        "index",
        "kwargs",
        "lookup",
        "running",
        "since",
        "text",
        "tries",
        "unfound",
        "voice_id",
    )

    def __init__(self, index: int, kwargs: dict[str, Any], request: CreateRequest) -> None:
        self.index = index
        self.kwargs = kwargs  # create()'s arguments, already checked
        fields = dict(request.fields)
        self.text = fields["text"]
        self.voice_id = fields["voice_id"]
        self.email: str | None = fields.get("email")
        self.ids: list[str] = []  # every job created for this item, in order
        self.failed: list[Speech] = []  # the final records of its FAILED jobs
        self.tries = 0  # jobs created for it (its FAILED ones and the current one)
        self.running: str | None = None  # its unfinished job, if any
        self.lookup = False  # a create may have landed unseen (a restart): look before creating
        self.since: float | None = None  # when the create that may have landed was sent
        self.unfound = 0


def check_items(
    items: object, voice_id: object, settings: Mapping[str, object]
) -> list[tuple[dict[str, Any], CreateRequest]]:
    """Every item as create() arguments, checked as create() checks them, before any request.

    A bad item is a ``ValueError`` naming its index and field (a wrong type included).
    """
    if isinstance(items, (str, bytes, Mapping)) or not isinstance(items, Iterable):
        raise TypeError(
            f"items must be an iterable of str or of mappings, got {type(items).__name__}"
        )
    for name in settings:
        if name not in CREATE_SETTINGS:
            raise TypeError(
                f"unexpected keyword argument {name!r}; the create() settings are "
                f"{', '.join(CREATE_SETTINGS)}"
            )
    defaults = {name: value for name, value in settings.items() if value is not None}
    checked: list[tuple[dict[str, Any], CreateRequest]] = []
    for index, item in enumerate(items):
        if isinstance(item, str):
            kwargs: dict[str, Any] = {**defaults, "text": item, "voice_id": voice_id}
        elif isinstance(item, Mapping):
            for key in item:
                if key not in _ITEM_KEYS:
                    raise ValueError(
                        f"item {index}: unknown field {shown(key)}; an item takes "
                        f"{', '.join(sorted(_ITEM_KEYS))}"
                    )
            kwargs = {**defaults, "voice_id": voice_id, **item}
            if kwargs.get("text") is None:
                raise ValueError(f"item {index}: text is missing")
        else:
            # The contract: a bad item is a ValueError, a wrong type included.
            raise ValueError(  # noqa: TRY004
                f"item {index} must be a str or a mapping of create() arguments, "
                f"got {type(item).__name__}"
            )
        if kwargs.get("voice_id") is None:
            raise ValueError(f"item {index}: voice_id is missing (pass voice_id=... or name it)")
        kwargs = {key: value for key, value in kwargs.items() if value is not None}
        try:
            request = build_create_request(**kwargs)
        except (TypeError, ValueError) as exc:
            raise ValueError(f"item {index}: {exc}") from exc
        checked.append((kwargs, request))
    return checked


def check_max_jobs(value: object) -> int:
    """The batch's ``max_jobs``: an integer from 1 to 8, like the API's ``maxJobs``."""
    low, high = MAX_JOBS_RANGE
    jobs = check_int("max_jobs", value, minimum=low)
    if jobs > high:
        raise ValueError(f"max_jobs must be between {low} and {high}, got {shown(value)}")
    return jobs


async def _call(callback: Callable[..., object] | None, *args: object) -> None:
    if callback is None:
        return
    result = callback(*args)
    if inspect.isawaitable(result):
        await result


def prepare(
    api: AsyncSpeechAPI,
    items: object,
    *,
    voice_id: object,
    settings: Mapping[str, object],
    max_jobs: object,
    resubmit: object,
    timeout: object,
    on_update: object,
    on_created: object,
    **resume: Any,
) -> Generation:
    """Check every argument of a batch, as create() and the waits check theirs; no request.

    ``resume`` passes :class:`Generation`'s resume arguments through (the CLI's manifest).
    """
    jobs = check_max_jobs(max_jobs)
    tries = 1 + check_int("resubmit", resubmit, minimum=0)
    if on_update is not None and not callable(on_update):
        raise TypeError(f"on_update must be callable, got {type(on_update).__name__}")
    if on_created is not None and not callable(on_created):
        raise TypeError(f"on_created must be callable, got {type(on_created).__name__}")
    checked = check_items(items, voice_id, settings)
    return Generation(
        api,
        checked,
        max_jobs=jobs,
        tries=tries,
        timeout=check_timeout(timeout),
        on_update=on_update,
        on_created=on_created,
        **resume,
    )


class _Stop(Exception):
    """The batch is stopping (deadline, a batch error, or an item for as_completed)."""


class Generation:
    """The state of one ``generate_many``/``generate_as_completed`` call; :meth:`run` moves it.

    ``existing`` (the CLI's resume) maps an item's index to the ids already created for it: the
    last one is waited for as the item's current job, and each counts as a try.  ``lookup`` lists
    items whose create may have landed without its id being recorded: the list is searched before
    they are created.  ``claimed`` holds ids that belong to some item and may never be adopted.
    ``on_submit(index)`` is called before each create is sent.  ``rng`` draws the backoff
    pauses (seeded by benchmarks).
    """

    def __init__(
        self,
        api: AsyncSpeechAPI,
        checked: list[tuple[dict[str, Any], CreateRequest]],
        *,
        max_jobs: int,
        tries: int,
        timeout: float | None,
        on_update: OnUpdate | None,
        on_created: OnCreated | None,
        existing: Mapping[int, Iterable[str]] | None = None,
        lookup: Iterable[int] = (),
        claimed: Iterable[str] = (),
        skip: Iterable[int] = (),
        on_submit: Callable[[int], object] | None = None,
        rng: random.Random | None = None,
    ) -> None:
        self._api = api
        self._max_jobs = max_jobs
        self._tries = tries
        self._timeout = timeout
        self._on_update = on_update
        self._on_created = on_created
        self._on_submit = on_submit
        self._rng = rng if rng is not None else random.Random()
        self.items = [
            _Item(index, kwargs, request) for index, (kwargs, request) in enumerate(checked)
        ]
        self.results: list[Result | None] = [None] * len(self.items)
        self.ready: deque[tuple[int, Result]] = deque()
        self._claimed: set[str] = set(claimed)
        skipped = set(skip)
        self.remaining = len(self.items) - len(skipped)
        self._queue: deque[_Item] = deque()
        self._active = 0  # items with an unfinished job or a create in flight
        for index, ids in (existing or {}).items():
            item = self.items[index]
            item.ids = list(ids)
            item.tries = len(item.ids)
            if item.ids:
                item.running = item.ids[-1]
                self._active += 1
            self._claimed.update(item.ids)
        for index in lookup:
            self.items[index].lookup = True
        self._queue.extend(
            item for item in self.items if item.running is None and item.index not in skipped
        )
        self.deadline: float | None = None
        self._started = False
        self._stop = False
        self._stop_on_result = False
        self._scopes: set[anyio.CancelScope] = set()
        # Set when a slot frees or an item is queued again; made on first use (it needs a loop).
        self._changed: anyio.Event | None = None
        self.error: BaseException | None = None
        self.timed_out = False
        # The lowest server-minus-local clock offset consistent with the creates seen so far.
        self._offset: float | None = None

    # -- the public views ------------------------------------------------------------------------

    @property
    def done(self) -> bool:
        """Whether every item has its result (some may still be in :attr:`ready`)."""
        return self.remaining == 0

    @property
    def running(self) -> int:
        """Jobs of the batch unfinished now (creates in flight included)."""
        return self._active

    @property
    def queued(self) -> int:
        """Items waiting for a job slot."""
        return len(self._queue)

    def created(self) -> dict[int, tuple[str, ...]]:
        """Every id created so far, by item index."""
        return {item.index: tuple(item.ids) for item in self.items if item.ids}

    def failure(self) -> BatchGenerationError | None:
        """The error that ended the batch as a whole, or ``None``."""
        if not self.timed_out and self.error is None:
            return None
        created = self.created()
        ended = sum(result is not None for result in self.results)
        jobs = sum(len(ids) for ids in created.values())
        if self.timed_out:
            assert self._timeout is not None
            why = f"the batch reached its deadline ({self._timeout:g}s)"
        else:
            why = f"the batch stopped: {type(self.error).__name__}: {self.error}"
        error = BatchGenerationError(
            f"{why}; {ended} of {len(self.items)} items ended, {jobs} jobs created "
            "(see .results and .created)",
            results=list(self.results),
            created=created,
            timed_out=self.timed_out,
        )
        if created:
            error.add_note(
                "jobs created, by item: "
                + "; ".join(f"{index}: {', '.join(ids)}" for index, ids in created.items())
            )
        error.__cause__ = self.error
        return error

    # -- running ---------------------------------------------------------------------------------

    async def run(self, *, until_result: bool = False) -> None:
        """Move the batch on until every item ended, it failed or, with ``until_result``, until
        an item's result is ready (a create in flight is finished first)."""
        if not self._started:
            self._started = True
            self.deadline = None if self._timeout is None else self._now() + self._timeout
        if self.failed:
            return
        self._stop = until_result and bool(self.ready)
        self._stop_on_result = until_result
        if self._stop or self.done:
            return
        async with anyio.create_task_group() as tg:
            for item in self.items:
                if item.running is not None:
                    tg.start_soon(self._watch, item, name=f"wait {item.running}")
            tg.start_soon(self._feed, tg, name="generate_many feeder")

    @property
    def failed(self) -> bool:
        return self.timed_out or self.error is not None

    def _now(self) -> float:
        return _timing.current().now()

    def _left(self) -> float | None:
        return None if self.deadline is None else self.deadline - self._now()

    def _stopping(self) -> bool:
        # A method, not the attribute: mypy would take ``_stop`` as unchanged across an await.
        return self._stop

    def _halt(self) -> None:
        self._stop = True
        for scope in list(self._scopes):
            scope.cancel()
        self._wake()

    def _wake(self) -> None:
        if self._changed is not None:
            self._changed.set()
            self._changed = None

    def _fail(self, error: BaseException) -> None:
        if self.error is None and not self.timed_out:
            self.error = error
        self._halt()

    def _time_out(self) -> None:
        if self.error is None:
            self.timed_out = True
        self._halt()

    async def _pause(self, seconds: float) -> bool:
        """Sleep ``seconds`` (never past the deadline); ``False`` when the batch is stopping."""
        left = self._left()
        if left is not None:
            seconds = min(seconds, max(left, 0.0))
        with anyio.CancelScope() as scope:
            self._scopes.add(scope)
            try:
                if self._stop:
                    return False
                await _timing.current().sleep(seconds)
            finally:
                self._scopes.discard(scope)
        return not scope.cancelled_caught and not self._stop

    def _deliver(self, item: _Item, result: Result) -> None:
        if (
            isinstance(result, SpeechError)
            and item.ids
            and not isinstance(result, GenerationFailedError)
        ):
            result.audio_ids = tuple(item.ids)
        self.results[item.index] = result
        self.ready.append((item.index, result))
        self.remaining -= 1
        if self._stop_on_result:
            self._halt()

    def _free(self) -> None:
        self._active -= 1
        self._wake()

    # -- creating --------------------------------------------------------------------------------

    async def _feed(self, tg: TaskGroup) -> None:
        """Create jobs one at a time while the batch has a free slot and items are queued."""
        while not self._stop:
            if not self._queue:
                if self.done:
                    return
                await self._wait_for_change()
                continue
            if self._active >= self._max_jobs:
                await self._wait_for_change()
                continue
            left = self._left()
            if left is not None and left <= 0:
                self._time_out()
                return
            item = self._queue.popleft()
            self._active += 1
            try:
                audio_id = await self._submit(item)
            except _Stop:
                self._queue.appendleft(item)
                self._free()
                return
            except Exception as exc:
                self._free()
                self._fail(exc)
                return
            if audio_id is None:
                self._free()
                continue
            item.running = audio_id
            try:
                await _call(self._on_created, item.index, audio_id)
            except Exception as exc:
                self._fail(exc)
                return
            if not self._stop:
                tg.start_soon(self._watch, item, name=f"wait {audio_id}")

    async def _wait_for_change(self) -> None:
        if self._changed is None:
            self._changed = anyio.Event()
        changed = self._changed
        with anyio.CancelScope() as scope:
            self._scopes.add(scope)
            try:
                if not self._stop:
                    await changed.wait()
            finally:
                self._scopes.discard(scope)

    def _created(self, item: _Item, audio_id: str) -> str:
        item.ids.append(audio_id)
        item.tries += 1
        self._claimed.add(audio_id)
        return audio_id

    async def _submit(self, item: _Item) -> str | None:
        """Create the item's next job: its id, or ``None`` when the item ended without one.

        Raises :class:`_Stop` when the batch stops before a create is sent, and the error of a
        batch-wide failure.
        """
        if item.lookup:
            found, unread = await self._adopt(item, since=item.since)
            if found is not None:
                item.lookup = False
                logger.warning("adopted %s for item %d: its create had landed", found, item.index)
                return self._created(item, found)
            if self._stopping():
                raise _Stop  # the look was cut short: it is taken up on the next run
            item.lookup = False
            if unread is not None:
                # Unable to tell whether the job exists: never create it blindly.
                unread.job_may_exist = True
                self._deliver(item, unread)
                return None
        busy = unsent = 0
        while True:
            if self._stop:
                raise _Stop
            left = self._left()
            if left is not None and left <= 0:
                self._time_out()
                raise _Stop
            await _call(self._on_submit, item.index)
            sent = self._now()
            try:
                with anyio.CancelScope(shield=True):  # a create in flight is never cut short
                    speech = await self._api.create(**item.kwargs)
            except RateLimitError as exc:
                # The capped Retry-After, else the policy's backoff: as a wait slows down.
                pause = _BACKOFF.slow_down(busy, exc.retry_after, self._rng)
                busy += 1
                logger.info("account busy (429) on item %d; waiting %.1fs", item.index, pause)
                if not await self._pause(pause):
                    raise _Stop from None
                continue
            except _BATCH_ERRORS:
                raise
            except SpeechError as exc:
                if exc.job_may_exist:
                    found, unread = await self._adopt(item, since=sent)
                    if found is not None:
                        logger.warning(
                            "create of item %d may have landed (%s); adopted %s from the list",
                            item.index,
                            exc,
                            found,
                        )
                        return self._created(item, found)
                    if self._stopping():
                        item.lookup, item.since = True, sent  # look again on the next run
                        raise _Stop from None
                    item.unfound += 1
                    if unread is not None or item.unfound >= MAX_UNFOUND:
                        self._deliver(item, exc)
                        return None
                    logger.warning(
                        "create of item %d may have landed (%s) but the list shows no such job "
                        "after %d looks; submitting it again",
                        item.index,
                        exc,
                        LOOKS,
                    )
                    continue
                if isinstance(exc, APIConnectionError) and unsent < MAX_UNSENT:
                    unsent += 1
                    if not await self._pause(_BACKOFF.backoff(unsent, self._rng)):
                        raise _Stop from None
                    continue
                self._deliver(item, exc)
                return None
            assert speech.audio_id is not None  # create() guarantees it
            self._calibrate(speech)
            return self._created(item, speech.audio_id)

    def _calibrate(self, speech: Speech) -> None:
        """Learn how the server's clock relates to ours from a job just created.

        The job was created before its answer arrived (now), so ``created_at`` (whole seconds,
        rounded down) less now bounds the server's offset from below: the threshold of "created
        since the attempt" built on it never excludes the job the attempt created.
        """
        if speech.created_at is None:
            return
        offset = speech.created_at.timestamp() - self._now()
        if self._offset is None or offset > self._offset:
            self._offset = offset

    async def _adopt(
        self, item: _Item, *, since: float | None
    ) -> tuple[str | None, SpeechError | None]:
        """Look for a job of the item created since ``since`` (local time) and not claimed.

        Returns the id found (or ``None``) and, when no look could read the list, the last
        error met (else ``None``).
        """
        threshold: float | None = None
        if since is not None and self._offset is not None:
            threshold = since + self._offset - SINCE_SLACK
        last_error: SpeechError | None = None
        read = False
        for look in range(LOOKS):
            if look and not await self._pause(LOOK_PAUSE * 2 ** (look - 1)):
                break
            try:
                found = await self._look(item, threshold)
            except _BATCH_ERRORS:
                raise
            except SpeechError as exc:
                logger.info("list for item %d failed: %s", item.index, exc)
                last_error = exc
                continue
            if found is not None:
                return found, None
            read = True
        unread = None if read else last_error
        return None, unread

    async def _look(self, item: _Item, threshold: float | None) -> str | None:
        offset = 0
        for _ in range(LOOK_PAGES):
            with anyio.CancelScope(shield=True):
                page = await self._api.list(email=item.email, limit=50, offset=offset)
            for speech in page.data:  # newest first
                if (
                    threshold is not None
                    and speech.created_at is not None
                    and speech.created_at.timestamp() < threshold
                ):
                    return None  # older than the attempt: so is the rest of the list
                if (
                    speech.audio_id is not None
                    and speech.audio_id not in self._claimed
                    and speech.prompt is not None
                    and speech.prompt.strip() == item.text.strip()
                    and speech.voice_id == item.voice_id
                ):
                    return speech.audio_id
            if not page.has_more or not page.data:
                return None
            offset = page.next_offset if page.next_offset is not None else offset + len(page.data)
        return None

    # -- waiting ---------------------------------------------------------------------------------

    async def _watch(self, item: _Item) -> None:
        audio_id = item.running
        assert audio_id is not None
        final: Speech | None = None
        with anyio.CancelScope() as scope:
            self._scopes.add(scope)
            try:
                if self._stop:
                    return
                left = self._left()
                if left is not None and left <= 0:
                    self._time_out()
                    return
                final = await self._api.wait_until_final(
                    audio_id, timeout=left, on_update=self._on_update, raise_on_failure=False
                )
            except WaitTimeoutError:
                self._time_out()
                return
            except _BATCH_ERRORS as exc:
                self._fail(exc)
                return
            except SpeechError as exc:
                item.running = None
                self._free()
                self._deliver(item, exc)
                return
            except Exception as exc:
                self._fail(exc)
                return
            finally:
                self._scopes.discard(scope)
        if final is None:
            return  # stopped: the next run() takes the wait up again
        item.running = None
        self._free()
        if not final.is_failed:
            self._deliver(item, final)
            return
        item.failed.append(final)
        left = self._left()
        out_of_time = left is not None and left <= 0
        if item.tries >= self._tries or out_of_time:
            self._deliver(
                item,
                GenerationFailedError(
                    tuple(item.failed),
                    audio_ids=tuple(item.ids),
                    out_of_time=item.tries < self._tries,
                ),
            )
            return
        logger.warning(
            "speech %s of item %d failed (%s); submitting it again, try %d of %d",
            audio_id,
            item.index,
            final.fail_reason or final.fail_code or "no reason given",
            item.tries + 1,
            self._tries,
        )
        self._queue.appendleft(item)
        self._wake()


async def generate_many(generation: Generation) -> builtins.list[Result]:
    """Run ``generation`` to its end: one result per item, in input order."""
    try:
        await generation.run()
    except BaseException:
        created = generation.created()
        if created:
            logger.warning(
                "generate_many() ended early; jobs created, by item: %s",
                "; ".join(f"{i}: {', '.join(ids)}" for i, ids in created.items()),
            )
        raise
    error = generation.failure()
    if error is not None:
        raise error
    results = generation.results
    assert all(result is not None for result in results)
    return [result for result in results if result is not None]


class GenerationCompletions(AsyncIterator[tuple[int, Result]]):
    """The async iterator ``generate_as_completed`` returns: ``(index, result)`` as items end.

    Each ``__anext__`` runs the batch until a result is ready; no task outlives it, so breaking out
    of the loop (or cancelling it) leaves nothing running, and no job is created meanwhile.
    ``aclose()`` ends it early; the jobs it created are in :meth:`created`.
    """

    def __init__(self, api: AsyncSpeechAPI, generation: Generation) -> None:
        self._api = api
        self._generation: Generation | None = generation
        self._last = generation

    def __aiter__(self) -> GenerationCompletions:
        return self

    def created(self) -> dict[int, tuple[str, ...]]:
        """Every id created so far, by item index."""
        return self._last.created()

    async def __anext__(self) -> tuple[int, Result]:
        generation = self._generation
        if generation is None:
            raise StopAsyncIteration
        while not generation.ready:
            error = generation.failure()
            if error is not None:
                self._generation = None
                raise error
            if generation.done:
                self._generation = None
                raise StopAsyncIteration
            self._api._check_open()
            await generation.run(until_result=True)
        return generation.ready.popleft()

    async def aclose(self) -> None:
        """Stop: nothing more is created or yielded.  Nothing runs between items, so this is all."""
        self._generation = None
