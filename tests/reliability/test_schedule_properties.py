"""Properties: retry and poll schedules stay within their bounds, and a wait never sleeps past its
deadline.

The waits run against respx answering non-final records (and transient failures) on a virtual
clock: the injected ``Timing`` records every pause the library asks for and moves the clock on by
it, so hundreds of multi-minute waits take milliseconds.
"""

from __future__ import annotations

import math
import random
from datetime import datetime, timedelta, timezone
from email.utils import format_datetime
from typing import Any

import anyio
import anyio.lowlevel
import attrs
import httpx
import pytest
import respx
from hypothesis import example, given, settings
from hypothesis import strategies as st
from reliability_support import DETERMINISTIC

from pixverse_speech import AsyncSpeechAPI, SpeechError, WaitTimeoutError, _timing
from pixverse_speech._polling import PollSchedule
from pixverse_speech._retry import RetryPolicy, parse_retry_after

TOKEN = "user:1-reliability-token"
BASE_URL = "https://api.reliability.invalid/v2/"
AUDIO_ID = "user:1-pixverse:a@b.c-speech:42"
NOW = datetime(2026, 6, 23, 12, 0, 0, tzinfo=timezone.utc)

#: Loading the CA bundle costs ~30 ms; one context serves every example's client.
SSL_CONTEXT = httpx.create_ssl_context()

positive = st.floats(min_value=1e-3, max_value=1e3, allow_nan=False)

# -- retry schedule ------------------------------------------------------------------------------

policies = st.builds(
    RetryPolicy,
    max_retries=st.integers(0, 10),
    initial_backoff=positive,
    max_backoff=positive,
    max_retry_after=st.floats(min_value=0, max_value=1e4),
)


@settings(DETERMINISTIC, max_examples=300)
@given(
    policy=policies,
    attempt=st.integers(0, 10_000),
    retry_after=st.none() | st.floats(min_value=0, max_value=1e9),
    seed=st.integers(0, 2**32),
)
@example(policy=RetryPolicy(), attempt=10_000, retry_after=None, seed=0)
def test_retry_pause_stays_within_its_bounds(
    policy: RetryPolicy, attempt: int, retry_after: float | None, seed: int
) -> None:
    """A retry pause is None past max_retries or a too-long Retry-After, else a capped backoff."""
    pause = policy.pause(attempt, retry_after, random.Random(seed))
    if attempt >= policy.max_retries or (
        retry_after is not None and retry_after > policy.max_retry_after
    ):
        assert pause is None
        return
    assert pause is not None
    assert math.isfinite(pause)
    if retry_after is not None:
        assert pause == retry_after <= policy.max_retry_after
    else:
        ceiling = min(policy.max_backoff, policy.initial_backoff * 2.0**attempt)
        assert ceiling / 2 <= pause <= ceiling <= policy.max_backoff


@settings(DETERMINISTIC, max_examples=200)
@given(policy=policies, seed=st.integers(0, 2**32))
def test_backoff_ceiling_grows_then_holds(policy: RetryPolicy, seed: int) -> None:
    """Backoff pauses never exceed max_backoff and their ceiling never shrinks with attempts."""
    rng = random.Random(seed)
    ceilings = [min(policy.max_backoff, policy.initial_backoff * 2.0**n) for n in range(40)]
    assert ceilings == sorted(ceilings)
    for attempt, ceiling in enumerate(ceilings):
        assert ceiling / 2 <= policy.backoff(attempt, rng) <= ceiling <= policy.max_backoff


header_texts = (
    st.text(max_size=40)
    | st.from_regex(r"\A\s*[-+]?[0-9]{0,12}(\.[0-9]{0,6})?([eE][-+]?[0-9]{1,4})?\s*\Z")
    | st.sampled_from(["nan", "NaN", "inf", "-inf", "1e400", "-0", "0", "0.05", "", " 7 "])
    | st.datetimes(
        min_value=datetime(1, 1, 2),
        max_value=datetime(9999, 12, 30),
        timezones=st.just(timezone.utc),
    ).map(lambda d: format_datetime(d, usegmt=True))
)


@settings(DETERMINISTIC, max_examples=400)
@given(retry_after=st.none() | header_texts, retry_after_ms=st.none() | header_texts)
@example(retry_after="Fri, 31 Dec 9999 23:59:59 GMT", retry_after_ms=None)
@example(retry_after="Mon, 01 Jan 0001 00:00:00 +2359", retry_after_ms="nan")
@example(retry_after="Wed, 21 Oct 2015 07:28:00 +9999", retry_after_ms=None)
def test_retry_after_of_any_header_is_none_or_a_finite_pause(
    retry_after: str | None, retry_after_ms: str | None
) -> None:
    """parse_retry_after of arbitrary header text is None or a finite number of seconds >= 0."""
    headers = {}
    if retry_after is not None:
        headers["retry-after"] = retry_after
    if retry_after_ms is not None:
        headers["retry-after-ms"] = retry_after_ms
    seconds = parse_retry_after(headers, now=NOW)
    if seconds is not None:
        assert isinstance(seconds, float)
        assert math.isfinite(seconds)
        assert seconds >= 0
    if not headers:
        assert seconds is None


@settings(DETERMINISTIC, max_examples=150)
@given(
    # Years from 1900: the email date parser reads years below 100 as two-digit years (RFC 2822).
    when=st.datetimes(
        min_value=datetime(1900, 1, 2),
        max_value=datetime(9999, 12, 30),
        timezones=st.just(timezone.utc),
    ),
    shift=st.integers(-86_400, 86_400),
)
def test_retry_after_date_is_seconds_from_now(when: datetime, shift: int) -> None:
    """A Retry-After HTTP date means the whole seconds until then, or 0 when it is past."""
    now = when.replace(microsecond=0)
    target = now + timedelta(seconds=shift)
    seconds = parse_retry_after({"retry-after": format_datetime(target, usegmt=True)}, now=now)
    assert seconds == max(0.0, float(shift))


# -- poll schedule -------------------------------------------------------------------------------


@st.composite
def poll_schedules(draw: st.DrawFn) -> PollSchedule:
    initial = draw(positive)
    maximum = draw(st.floats(min_value=initial, max_value=max(initial, 1e4)))
    if draw(st.booleans()):
        return PollSchedule.checked(initial, maximum)  # the library's own multiplier and jitter
    return PollSchedule(
        initial=initial,
        maximum=maximum,
        multiplier=draw(st.floats(min_value=1.0, max_value=4.0)),
        jitter=draw(st.floats(min_value=0.0, max_value=0.99)),
    )


@settings(DETERMINISTIC, max_examples=200)
@given(schedule=poll_schedules(), seed=st.integers(0, 2**32))
def test_poll_pauses_grow_to_the_maximum_and_never_exceed_it(
    schedule: PollSchedule, seed: int
) -> None:
    """Each poll pause lies in [base * (1 - jitter), base], base growing from initial to maximum."""
    pauses = schedule.pauses(random.Random(seed))
    base = schedule.initial
    for _ in range(60):
        pause = next(pauses)
        assert base * (1 - schedule.jitter) - 1e-12 <= pause <= base <= schedule.maximum
        base = min(schedule.maximum, base * schedule.multiplier)


# -- waits on a virtual clock --------------------------------------------------------------------


@attrs.frozen
class Answer:
    """One poll's answer: a record in some status, or a transient failure."""

    kind: str  # queued | generating | unknown | final | 429 | 503 | malformed | connect
    retry_after: float | None = None

    def response(self, request: httpx.Request) -> httpx.Response:
        if self.kind in ("429", "503"):
            headers = {} if self.retry_after is None else {"Retry-After": f"{self.retry_after:g}"}
            return httpx.Response(int(self.kind), json={"error": "busy"}, headers=headers)
        if self.kind == "malformed":
            return httpx.Response(200, content=b'{"audio_id": "user:1-pix')
        if self.kind == "connect":
            raise httpx.ConnectError("connection refused", request=request)
        status = {"queued": 5, "generating": 10, "unknown": 99, "final": 1}[self.kind]
        body: dict[str, Any] = {"audio_id": AUDIO_ID, "audio_status": status}
        if status != 99:
            body["audio_status_final"] = status == 1
        return httpx.Response(200, json=body)


retry_afters = st.none() | st.sampled_from([0.0, 0.05, 0.5, 3.0, 30.0, 90.0, 600.0])
answers = st.one_of(
    st.sampled_from(["queued", "generating", "unknown", "malformed", "connect"]).map(Answer),
    st.builds(Answer, st.sampled_from(["429", "503"]), retry_afters),
    st.just(Answer("final")),
)


class VirtualClock:
    """Time that moves only when the library sleeps; every requested pause is recorded."""

    def __init__(self, start: float = 1_000.0) -> None:
        self.start = start
        self.time = start
        self.sleeps: list[float] = []

    def now(self) -> float:
        return self.time

    async def sleep(self, seconds: float) -> None:
        assert seconds >= 0, f"asked to sleep {seconds!r}"
        assert math.isfinite(seconds), f"asked to sleep {seconds!r}"
        self.sleeps.append(seconds)
        self.time += seconds
        await anyio.lowlevel.checkpoint()


@attrs.frozen
class WaitCase:
    timeout: float
    poll_interval: float
    max_poll_interval: float
    script: tuple[Answer, ...]


@st.composite
def wait_cases(draw: st.DrawFn) -> WaitCase:
    poll_interval = draw(st.floats(min_value=0.01, max_value=30.0))
    max_poll_interval = draw(st.floats(min_value=poll_interval, max_value=120.0))
    # At most ~40 polls at the longest interval (plus the growth to it): each poll is a real
    # request through httpx and respx, about a millisecond.
    timeout = draw(st.floats(min_value=0.01, max_value=min(3_600.0, 40 * max_poll_interval)))
    return WaitCase(
        timeout, poll_interval, max_poll_interval, tuple(draw(st.lists(answers, max_size=40)))
    )


class Poller:
    """respx's side effect: the drawn answers in order, then GENERATING forever."""

    def __init__(self, clock: VirtualClock, script: tuple[Answer, ...]) -> None:
        self.clock = clock
        self.script = script
        self.answered: list[tuple[float, Answer]] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        index = len(self.answered)
        answer = self.script[index] if index < len(self.script) else Answer("generating")
        self.answered.append((self.clock.now(), answer))
        return answer.response(request)


async def run_wait(case: WaitCase, *, max_retries: int) -> tuple[object, VirtualClock, Poller]:
    clock = VirtualClock()
    poller = Poller(clock, case.script)
    with (
        respx.mock(base_url=BASE_URL, assert_all_called=False) as router,
        _timing.using(_timing.Timing(now=clock.now, sleep=clock.sleep)),
    ):
        router.get(f"pixverse/speech/{AUDIO_ID}").mock(side_effect=poller)
        async with (
            httpx.AsyncClient(verify=SSL_CONTEXT) as http,
            AsyncSpeechAPI(
                TOKEN, base_url=BASE_URL, max_retries=max_retries, http_client=http
            ) as api,
        ):
            outcome: object
            try:
                outcome = await api.wait_until_final(
                    AUDIO_ID,
                    timeout=case.timeout,
                    poll_interval=case.poll_interval,
                    max_poll_interval=case.max_poll_interval,
                )
            except SpeechError as exc:
                outcome = exc
    return outcome, clock, poller


@pytest.mark.anyio
@settings(DETERMINISTIC, max_examples=120)
@given(case=wait_cases())
@example(
    case=WaitCase(
        timeout=10.0, poll_interval=1.0, max_poll_interval=2.0, script=(Answer("429", 30.0),)
    )
)
@example(
    case=WaitCase(
        timeout=100.0, poll_interval=1.0, max_poll_interval=5.0, script=(Answer("503", 7.0),)
    )
)
async def test_wait_never_sleeps_past_its_deadline(case: WaitCase) -> None:
    """A wait's pauses sum to at most its timeout; each is <= max_poll_interval or a Retry-After."""
    outcome, clock, poller = await run_wait(case, max_retries=0)
    total = sum(clock.sleeps)
    assert total <= case.timeout * (1 + 1e-9)
    assert poller.answered[0][0] == clock.start, "the first poll is not immediate"
    # No retries: every poll is one request, and one pause follows each poll but the last.
    assert len(clock.sleeps) in (len(poller.answered) - 1, len(poller.answered))
    rng_free_floor = case.poll_interval
    for index, pause in enumerate(clock.sleeps):
        answer = poller.answered[index][1]
        allowed = max(case.max_poll_interval, answer.retry_after or 0.0)
        assert pause <= allowed * (1 + 1e-9), (index, pause, answer)
        # Never faster than the schedule (0.9 for jitter), but where the deadline cut it short.
        remaining = clock.start + case.timeout - poller.answered[index][0]
        assert pause >= min(0.9 * rng_free_floor, remaining) * (1 - 1e-9), (index, pause)
        rng_free_floor = min(case.max_poll_interval, rng_free_floor * 1.5)
    finals = [i for i, (_, answer) in enumerate(poller.answered) if answer.kind == "final"]
    if finals:
        assert finals == [len(poller.answered) - 1], "polled on after a final record"
        assert not isinstance(outcome, BaseException)
    else:
        # Transient failures never end a wait early: it runs to its deadline, then times out.
        assert isinstance(outcome, WaitTimeoutError), outcome
        assert math.isclose(total, case.timeout, rel_tol=1e-9, abs_tol=1e-9)


@pytest.mark.anyio
@settings(DETERMINISTIC, max_examples=60)
@given(case=wait_cases())
@example(
    # Three 503s in a row: the request's own retry pauses (0.25-0.5 s, 0.5-1 s, 1-2 s) run on
    # past the 1 s deadline when nothing but the event loop's clock enforces it.
    case=WaitCase(
        timeout=1.0, poll_interval=0.5, max_poll_interval=0.5, script=(Answer("503"),) * 4
    )
)
async def test_wait_with_request_retries_never_sleeps_past_its_deadline(case: WaitCase) -> None:
    """With the default request retries too, a wait's pauses sum to at most its timeout."""
    outcome, clock, _ = await run_wait(case, max_retries=3)
    assert sum(clock.sleeps) <= case.timeout * (1 + 1e-9), (outcome, clock.sleeps)


@pytest.mark.parametrize("anyio_backend", ["trio-virtual"], indirect=True)
@pytest.mark.anyio
@settings(DETERMINISTIC, max_examples=60)
@given(case=wait_cases())
@example(
    case=WaitCase(
        timeout=1.0, poll_interval=0.5, max_poll_interval=0.5, script=(Answer("503"),) * 9
    )
)
async def test_wait_with_retries_ends_at_its_deadline(case: WaitCase) -> None:
    """On the event loop's (mock) clock, a wait with request retries ends by its deadline."""
    # Real timing on trio's mock clock: the deadline's cancel scope cuts a retry pause short too.
    sleeps: list[float] = []

    async def sleep(seconds: float) -> None:
        sleeps.append(seconds)
        await anyio.sleep(seconds)

    clock = VirtualClock()
    poller = Poller(clock, case.script)
    started = anyio.current_time()
    with (
        respx.mock(base_url=BASE_URL, assert_all_called=False) as router,
        _timing.using(_timing.Timing(sleep=sleep)),
    ):
        router.get(f"pixverse/speech/{AUDIO_ID}").mock(side_effect=poller)
        async with (
            httpx.AsyncClient(verify=SSL_CONTEXT) as http,
            AsyncSpeechAPI(TOKEN, base_url=BASE_URL, max_retries=3, http_client=http) as api,
        ):
            try:
                await api.wait_until_final(
                    AUDIO_ID,
                    timeout=case.timeout,
                    poll_interval=case.poll_interval,
                    max_poll_interval=case.max_poll_interval,
                )
            except WaitTimeoutError:
                assert not any(answer.kind == "final" for answer in case.script)
    elapsed = anyio.current_time() - started
    assert elapsed <= case.timeout + 1e-6
    backoff_cap = RetryPolicy().max_backoff
    longest_retry_after = max((a.retry_after or 0.0 for a in case.script), default=0.0)
    for pause in sleeps:
        assert pause <= max(case.max_poll_interval, backoff_cap, longest_retry_after)
