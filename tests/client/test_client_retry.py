"""Retries of one request: what is retried, how long the pauses are, and Retry-After."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import textwrap
from datetime import datetime, timedelta, timezone
from email.utils import format_datetime
from pathlib import Path

import httpx
import pytest
import respx

from pixverse_speech import (
    APIConnectionError,
    APIError,
    APITimeoutError,
    AsyncSpeechAPI,
    RateLimitError,
    ServerError,
)

pytestmark = pytest.mark.anyio

TOKEN = "user:12345-s3cr3tT0kenValue9876"
PATH = "pixverse/speech/x"


def _ok() -> httpx.Response:
    return httpx.Response(200, json={"audio_id": "x", "audio_status": 1})


def _status(code: int, **headers: str) -> httpx.Response:
    return httpx.Response(code, json={"error": f"status {code}", "code": code}, headers=headers)


@pytest.mark.parametrize("status", [408, 429, 500, 502, 503, 504])
async def test_transient_status_is_retried(
    api: AsyncSpeechAPI, router: respx.MockRouter, status: int, clock
) -> None:
    """408, 429, 500, 502, 503 and 504 are retried and a later success is returned."""
    route = router.get(PATH).mock(side_effect=[_status(status), _status(status), _ok()])
    speech = await api.get("x")
    assert speech.audio_id == "x"
    assert route.call_count == 3
    assert len(clock.sleeps) == 2


@pytest.mark.parametrize("status", [400, 401, 402, 404, 409, 412, 418, 422, 501, 505, 596])
async def test_other_status_is_never_retried(
    api: AsyncSpeechAPI, router: respx.MockRouter, status: int, clock
) -> None:
    """400/401/404/596 and every status outside the retry list are raised after one try."""
    route = router.get(PATH).mock(side_effect=[_status(status), _ok()])
    with pytest.raises(APIError) as info:
        await api.get("x")
    assert info.value.status_code == status
    assert route.call_count == 1
    assert clock.sleeps == []


async def test_retries_are_bounded(router: respx.MockRouter, clock) -> None:
    """A status that keeps failing is tried 1 + max_retries times, then raised."""
    route = router.get(PATH).mock(return_value=_status(503))
    async with AsyncSpeechAPI(TOKEN, max_retries=2) as api:
        with pytest.raises(ServerError):
            await api.get("x")
    assert route.call_count == 3
    assert len(clock.sleeps) == 2


async def test_max_retries_zero_disables_retries(
    api0: AsyncSpeechAPI, router: respx.MockRouter, clock
) -> None:
    """With max_retries=0 a transient failure is raised after the first try."""
    route = router.get(PATH).mock(return_value=_status(503))
    with pytest.raises(ServerError):
        await api0.get("x")
    route.mock(side_effect=httpx.ConnectError("refused"))
    with pytest.raises(APIConnectionError):
        await api0.get("x")
    assert route.call_count == 2
    assert clock.sleeps == []


@pytest.mark.parametrize(
    "exc",
    [
        httpx.ConnectError("connection refused"),
        httpx.ConnectTimeout("connect timed out"),
        httpx.ReadError("connection reset"),
        httpx.WriteError("broken pipe"),
        httpx.RemoteProtocolError("server disconnected"),
        httpx.ReadTimeout("read timed out"),
        httpx.PoolTimeout("pool"),
    ],
    ids=lambda exc: type(exc).__name__,
)
async def test_transport_error_is_retried(
    api: AsyncSpeechAPI, router: respx.MockRouter, exc: Exception, clock
) -> None:
    """Connection errors, dropped connections and timeouts of a GET are retried."""
    route = router.get(PATH).mock(side_effect=[exc, _ok()])
    assert (await api.get("x")).audio_id == "x"
    assert route.call_count == 2
    assert len(clock.sleeps) == 1


async def test_connection_error_after_retries(api: AsyncSpeechAPI, router: respx.MockRouter):
    """A connection that never works ends in APIConnectionError after all retries, with cause."""
    route = router.get(PATH).mock(side_effect=httpx.ConnectError("connection refused"))
    with pytest.raises(APIConnectionError) as info:
        await api.get("x")
    assert not isinstance(info.value, APITimeoutError)
    assert isinstance(info.value.__cause__, httpx.ConnectError)
    assert "connection refused" in str(info.value)
    assert info.value.audio_id == "x"
    assert route.call_count == 4


async def test_read_timeout_after_retries(api: AsyncSpeechAPI, router: respx.MockRouter) -> None:
    """A request that keeps timing out ends in APITimeoutError (an APIConnectionError)."""
    route = router.get(PATH).mock(side_effect=httpx.ReadTimeout("timed out"))
    with pytest.raises(APITimeoutError) as info:
        await api.get("x")
    assert isinstance(info.value, APIConnectionError)
    assert isinstance(info.value.__cause__, httpx.ReadTimeout)
    assert info.value.audio_id == "x"
    assert route.call_count == 4


async def test_backoff_pauses_within_bounds(api: AsyncSpeechAPI, router: respx.MockRouter, clock):
    """Pause n is drawn from [b/2, b] with b = 0.5 s * 2**n (the documented RetryPolicy)."""
    router.get(PATH).mock(return_value=_status(500))
    for _ in range(30):
        with pytest.raises(ServerError):
            await api.get("x")
    assert len(clock.sleeps) == 90
    for run in range(30):
        first, second, third = clock.sleeps[3 * run : 3 * run + 3]
        assert 0.25 <= first <= 0.5
        assert 0.5 <= second <= 1.0
        assert 1.0 <= third <= 2.0
    assert len(set(clock.sleeps)) > 80  # jittered, not a fixed ladder


async def test_backoff_is_capped(router: respx.MockRouter, clock) -> None:
    """However many retries, no backoff pause exceeds 8 s, and late ones are at least 4 s."""
    router.get(PATH).mock(return_value=_status(502))
    async with AsyncSpeechAPI(TOKEN, max_retries=8) as api:
        with pytest.raises(ServerError):
            await api.get("x")
    assert len(clock.sleeps) == 8
    assert all(4.0 <= pause <= 8.0 for pause in clock.sleeps[4:])
    assert max(clock.sleeps) <= 8.0


# -- Retry-After -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({"Retry-After": "7"}, 7.0),
        ({"Retry-After": "0"}, 0.0),
        ({"Retry-After": "2.5"}, 2.5),
        ({"retry-after-ms": "1500"}, 1.5),
        ({"retry-after-ms": "250", "Retry-After": "30"}, 0.25),
        ({"Retry-After": "60"}, 60.0),
    ],
)
async def test_retry_after_is_honoured(
    api: AsyncSpeechAPI, router: respx.MockRouter, clock, headers: dict[str, str], expected: float
) -> None:
    """A 429's Retry-After (seconds) or retry-after-ms replaces the backoff pause."""
    route = router.get(PATH).mock(side_effect=[_status(429, **headers), _ok()])
    await api.get("x")
    assert clock.sleeps == [expected]
    assert route.call_count == 2


async def test_retry_after_http_date_is_honoured(
    api: AsyncSpeechAPI, router: respx.MockRouter, clock
) -> None:
    """A Retry-After given as an HTTP date is the time until that date."""
    when = datetime.now(timezone.utc) + timedelta(seconds=20)
    route = router.get(PATH).mock(
        side_effect=[_status(429, **{"Retry-After": format_datetime(when, usegmt=True)}), _ok()]
    )
    await api.get("x")
    assert route.call_count == 2
    [pause] = clock.sleeps
    assert 17.0 <= pause <= 20.0


async def test_retry_after_date_in_the_past_is_no_pause(
    api: AsyncSpeechAPI, router: respx.MockRouter, clock
) -> None:
    """A Retry-After date already past means retry at once."""
    router.get(PATH).mock(
        side_effect=[_status(429, **{"Retry-After": "Wed, 21 Oct 2015 07:28:00 GMT"}), _ok()]
    )
    await api.get("x")
    assert clock.sleeps == [0.0]


async def test_unreadable_retry_after_falls_back_to_backoff(
    api: AsyncSpeechAPI, router: respx.MockRouter, clock
) -> None:
    """A Retry-After that is neither seconds nor a date is ignored: the usual backoff applies."""
    router.get(PATH).mock(side_effect=[_status(429, **{"Retry-After": "soon"}), _ok()])
    await api.get("x")
    [pause] = clock.sleeps
    assert 0.25 <= pause <= 0.5


@pytest.mark.parametrize(
    "headers", [{"Retry-After": "61"}, {"Retry-After": "3600"}, {"retry-after-ms": "90000"}]
)
async def test_retry_after_above_cap_is_raised_at_once(
    api: AsyncSpeechAPI, router: respx.MockRouter, clock, headers: dict[str, str]
) -> None:
    """A Retry-After longer than 60 s is not waited for: the RateLimitError is raised at once."""
    route = router.get(PATH).mock(side_effect=[_status(429, **headers), _ok()])
    with pytest.raises(RateLimitError) as info:
        await api.get("x")
    assert info.value.retry_after is not None
    assert info.value.retry_after > 60
    assert route.call_count == 1
    assert clock.sleeps == []


async def test_retry_after_on_503_is_honoured(
    api: AsyncSpeechAPI, router: respx.MockRouter, clock
) -> None:
    """A 503 (or any retried status) with Retry-After waits what the server asked."""
    route = router.get(PATH).mock(side_effect=[_status(503, **{"Retry-After": "9"}), _ok()])
    await api.get("x")
    assert clock.sleeps == [9.0]
    assert route.call_count == 2


async def test_retry_after_above_cap_on_503_is_raised_at_once(
    api: AsyncSpeechAPI, router: respx.MockRouter, clock
) -> None:
    """A 503 asking for more than 60 s is raised at once rather than retried early."""
    route = router.get(PATH).mock(side_effect=[_status(503, **{"Retry-After": "600"}), _ok()])
    with pytest.raises(ServerError):
        await api.get("x")
    assert route.call_count == 1
    assert clock.sleeps == []


async def test_repeated_429_exhausts_retries(api: AsyncSpeechAPI, router: respx.MockRouter, clock):
    """A 429 that keeps coming is retried max_retries times, then raised with its retry_after."""
    route = router.get(PATH).mock(return_value=_status(429, **{"Retry-After": "2"}))
    with pytest.raises(RateLimitError) as info:
        await api.get("x")
    assert info.value.retry_after == 2.0
    assert route.call_count == 4
    assert clock.sleeps == [2.0, 2.0, 2.0]


async def test_retries_apply_to_list(api: AsyncSpeechAPI, router: respx.MockRouter, clock) -> None:
    """`list` is a GET too: its transient failures are retried the same way."""
    route = router.get("pixverse/speech/").mock(
        side_effect=[httpx.ReadError("reset"), _status(502), httpx.Response(200, json={})]
    )
    page = await api.list()
    assert page.data == ()
    assert route.call_count == 3
    assert len(clock.sleeps) == 2


async def test_retries_log_at_info_and_the_last_at_warning(
    api: AsyncSpeechAPI, router: respx.MockRouter, caplog: pytest.LogCaptureFixture
) -> None:
    """Each retry leaves one record naming the attempt: INFO, but WARNING for the last one."""
    caplog.set_level("DEBUG", logger="pixverse_speech")
    router.get(PATH).mock(side_effect=[_status(503), _status(503), _status(503), _ok()])
    await api.get("x")
    retries = [r for r in caplog.records if r.name == "pixverse_speech" and "retry" in r.msg]
    assert [(r.levelname, r.getMessage().split("; ")[1].split(" in ")[0]) for r in retries] == [
        ("INFO", "retry 1 of 3"),
        ("INFO", "retry 2 of 3"),
        ("WARNING", "retry 3 of 3"),
    ]


@pytest.mark.parametrize("failure", ["status", "connection"])
async def test_retry_message_names_the_request_once(
    api: AsyncSpeechAPI,
    router: respx.MockRouter,
    caplog: pytest.LogCaptureFixture,
    failure: str,
) -> None:
    """A retry's log line states the method and path exactly once, then the reason."""
    caplog.set_level("DEBUG", logger="pixverse_speech")
    first: object = _status(503) if failure == "status" else httpx.ConnectError("refused")
    router.get(PATH).mock(side_effect=[first, _ok()])
    await api.get("x")
    (record,) = [r for r in caplog.records if "retry" in r.msg]
    message = record.getMessage()
    assert message.count("GET ") == 1
    assert message.count("/speech/x") == 1
    assert "503" in message or "ConnectError" in message
    assert "audio_id=" not in message


def test_library_logs_nothing_to_stderr_unconfigured(tmp_path: Path) -> None:
    """With logging unconfigured, even a WARNING retry prints nothing (a NullHandler is set)."""
    script = tmp_path / "quiet.py"
    script.write_text(
        textwrap.dedent(
            """
            import anyio
            from pixverse_speech.testing import FakeSpeechAPI, Fault, fast_waits

            fake = FakeSpeechAPI()
            audio_id = fake.add_job()
            fake.inject(Fault.status(503), path="speech/user", times=3)

            async def main() -> None:
                async with fake.client(max_retries=3) as api:
                    with fast_waits():
                        await api.get(audio_id)

            anyio.run(main)
            print("done")
            """
        )
    )
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    result = subprocess.run(
        [sys.executable, str(script)], capture_output=True, text=True, env=env, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "done"
    assert result.stderr == ""


def test_package_logger_has_a_null_handler() -> None:
    """The pixverse_speech logger carries a NullHandler."""
    handlers = logging.getLogger("pixverse_speech").handlers
    assert any(isinstance(h, logging.NullHandler) for h in handlers)
