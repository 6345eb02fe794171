"""Unit tests of the pure parts: Retry-After parsing, retry policy, poll schedule, models."""

from __future__ import annotations

import math
import random
from datetime import datetime, timedelta, timezone

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st

from pixverse_speech import AudioStatus, Speech, SpeechFailedError, WaitTimeoutError
from pixverse_speech._polling import PollSchedule
from pixverse_speech._retry import RETRY_STATUSES, RetryPolicy, parse_retry_after

NOW = datetime(2026, 6, 23, 12, 0, 0, tzinfo=timezone.utc)


# -- parse_retry_after -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({}, None),
        ({"Retry-After": "120"}, 120.0),
        ({"Retry-After": " 3 "}, 3.0),
        ({"Retry-After": "0"}, 0.0),
        ({"Retry-After": "1.5"}, 1.5),
        ({"Retry-After": "-5"}, None),
        ({"Retry-After": "soon"}, None),
        ({"Retry-After": ""}, None),
        ({"Retry-After": "nan"}, None),
        ({"Retry-After": "inf"}, 1e9),
        ({"Retry-After": "1e12"}, 1e9),
        ({"Retry-After": "Tue, 23 Jun 2026 12:00:30 GMT"}, 30.0),
        ({"Retry-After": "Tue, 23 Jun 2026 11:00:00 GMT"}, 0.0),
        ({"Retry-After": "Tue, 23 Jun 2026 12:01:00 -0000"}, 60.0),
        ({"Retry-After": "Tue, 23 Jun 2026 14:00:10 +0200"}, 10.0),
        ({"retry-after-ms": "250"}, 0.25),
        ({"Retry-After-Ms": "1500", "Retry-After": "9"}, 1.5),
        ({"retry-after-ms": "abc", "Retry-After": "9"}, 9.0),
        ({"retry-after-ms": "-1", "Retry-After": "9"}, 9.0),
        ({"retry-after-ms": "nan", "Retry-After": "9"}, 9.0),
        ({"retry-after-ms": "nan"}, None),
        ({"RETRY-AFTER": "4"}, 4.0),
    ],
)
def test_parse_retry_after(headers: dict[str, str], expected: float | None) -> None:
    """Retry-After as seconds or an HTTP date, retry-after-ms first; junk is absent."""
    assert parse_retry_after(httpx.Headers(headers), now=NOW) == expected


def test_parse_retry_after_uses_the_clock_by_default() -> None:
    """Without `now`, an HTTP date is measured from the current UTC time."""
    when = datetime.now(timezone.utc) + timedelta(seconds=100)
    value = parse_retry_after(
        httpx.Headers({"Retry-After": when.strftime("%a, %d %b %Y %H:%M:%S GMT")})
    )
    assert value is not None
    assert 97.0 <= value <= 100.0


@given(st.text(max_size=40))
def test_parse_retry_after_never_raises(raw: str) -> None:
    """Any header text gives None or a finite, non-negative number of seconds."""
    try:
        headers = httpx.Headers({"Retry-After": raw, "retry-after-ms": raw})
    except (UnicodeEncodeError, ValueError):
        return  # not a value httpx can hold
    value = parse_retry_after(headers, now=NOW)
    assert value is None or (math.isfinite(value) and value >= 0)


# -- RetryPolicy -----------------------------------------------------------------------------------


def test_retry_policy_defaults() -> None:
    """The documented defaults: 3 retries, 0.5 s doubling to 8 s, Retry-After capped at 60 s."""
    policy = RetryPolicy()
    assert (policy.max_retries, policy.initial_backoff, policy.max_backoff) == (3, 0.5, 8.0)
    assert policy.max_retry_after == 60.0
    assert frozenset({408, 429, 500, 502, 503, 504}) == RETRY_STATUSES


@given(attempt=st.integers(min_value=0, max_value=200), seed=st.integers())
def test_backoff_within_bounds(attempt: int, seed: int) -> None:
    """Backoff n lies in [b/2, b] with b = min(8, 0.5 * 2**n)."""
    ceiling = min(8.0, 0.5 * 2.0 ** min(attempt, 32))
    pause = RetryPolicy().backoff(attempt, random.Random(seed))
    assert ceiling / 2 <= pause <= ceiling


def test_pause_stops_after_max_retries() -> None:
    """`pause` gives a pause for attempts 0..max_retries-1 and None after."""
    rng = random.Random(1)
    policy = RetryPolicy(max_retries=2)
    assert policy.pause(0, None, rng) is not None
    assert policy.pause(1, None, rng) is not None
    assert policy.pause(2, None, rng) is None
    assert policy.pause(2, 1.0, rng) is None
    assert RetryPolicy(max_retries=0).pause(0, None, rng) is None


@pytest.mark.parametrize(
    ("retry_after", "expected"), [(0.0, 0.0), (12.5, 12.5), (60.0, 60.0), (60.01, None)]
)
def test_pause_honours_retry_after_up_to_cap(retry_after: float, expected: float | None) -> None:
    """A Retry-After replaces the backoff; one above max_retry_after means no retry."""
    assert RetryPolicy().pause(0, retry_after, random.Random(0)) == expected


def test_retry_policy_is_frozen() -> None:
    """RetryPolicy is immutable."""
    policy = RetryPolicy()
    with pytest.raises(AttributeError):
        policy.max_retries = 5  # type: ignore[misc]


# -- PollSchedule ----------------------------------------------------------------------------------


def test_poll_schedule_grows_and_caps() -> None:
    """Pauses start at `initial`, grow x1.5 to `maximum`, each at most 10% shorter."""
    schedule = PollSchedule.checked(2.0, 9.0)
    pauses = schedule.pauses(random.Random(3))
    bases = [2.0, 3.0, 4.5, 6.75, 9.0, 9.0, 9.0]
    for base in bases:
        assert 0.9 * base <= next(pauses) <= base


@given(
    initial=st.floats(min_value=0.001, max_value=100),
    extra=st.floats(min_value=0, max_value=1000),
    seed=st.integers(),
)
def test_poll_schedule_never_exceeds_maximum(initial: float, extra: float, seed: int) -> None:
    """No pause is longer than max_poll_interval or shorter than 90% of poll_interval."""
    maximum = initial + extra
    pauses = PollSchedule.checked(initial, maximum).pauses(random.Random(seed))
    for _ in range(40):
        pause = next(pauses)
        assert 0.9 * initial <= pause <= maximum


def test_poll_schedule_equal_bounds() -> None:
    """poll_interval == max_poll_interval is allowed and keeps the pause flat."""
    pauses = PollSchedule.checked(5, 5).pauses(random.Random(0))
    assert all(4.5 <= next(pauses) <= 5.0 for _ in range(10))


# -- models ----------------------------------------------------------------------------------------


def test_audio_status_values() -> None:
    """AudioStatus is an IntEnum of the four documented values."""
    assert {s.name: int(s) for s in AudioStatus} == {
        "COMPLETED": 1,
        "QUEUED": 5,
        "FAILED": 8,
        "GENERATING": 10,
    }
    assert AudioStatus.COMPLETED == 1
    assert [s for s in AudioStatus if s.is_final] == [AudioStatus.COMPLETED, AudioStatus.FAILED]


def test_speech_is_frozen() -> None:
    """Speech records are immutable."""
    speech = Speech(audio_id="a")
    with pytest.raises(AttributeError):
        speech.audio_id = "b"  # type: ignore[misc]


@pytest.mark.parametrize(
    ("speech", "known", "name"),
    [
        (Speech(audio_id="a", audio_status=AudioStatus.QUEUED), AudioStatus.QUEUED, "QUEUED"),
        (Speech(audio_id="a", audio_status_name="failed"), AudioStatus.FAILED, "failed"),
        (Speech(audio_id="a", audio_status=7), None, "7"),
        (Speech(audio_id="a", audio_status=7, audio_status_name="PAUSED"), None, "PAUSED"),
        (Speech(audio_id="a"), None, "UNKNOWN"),
    ],
)
def test_known_status_and_status_name(speech: Speech, known: AudioStatus | None, name: str) -> None:
    """known_status maps the number (else the name); status_name prefers the API's name."""
    assert speech.known_status is known
    assert speech.status_name == name


def test_status_name_alone_decides_finality() -> None:
    """Without audio_status or the final flag, a documented status name still decides."""
    assert Speech(audio_id="a", audio_status_name="COMPLETED").is_completed
    assert Speech(audio_id="a", audio_status_name="FAILED").is_failed
    assert not Speech(audio_id="a", audio_status_name="GENERATING").is_final


def test_speech_failed_error_message() -> None:
    """SpeechFailedError names the id, fail_code and fail_reason, and keeps the record."""
    speech = Speech(audio_id="a1", audio_status=8, fail_code="E42", fail_reason="voice busy")
    exc = SpeechFailedError(speech)
    assert str(exc) == "speech a1 failed: fail_code='E42', fail_reason='voice busy'"
    assert exc.speech is speech
    assert exc.audio_id == "a1"
    assert str(SpeechFailedError(Speech(audio_id="a2", audio_status=8))) == "speech a2 failed"


def test_wait_timeout_error_is_a_timeout_error() -> None:
    """WaitTimeoutError is caught by `except TimeoutError` and keeps its details."""
    last = Speech(audio_id="a", audio_status=10, audio_status_name="GENERATING")
    with pytest.raises(TimeoutError) as info:
        raise WaitTimeoutError("a", timeout=2.5, last=last)
    assert isinstance(info.value, WaitTimeoutError)
    assert info.value.last is last
    assert str(info.value) == "speech a was not final after 2.5s (last status: GENERATING)"
