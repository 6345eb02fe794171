"""generate(): create, wait, and resubmit a FAILED job; no job id is ever lost."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
import respx

from pixverse_speech import (
    AsyncSpeechAPI,
    AudioStatus,
    BadRequestError,
    GenerationFailedError,
    Speech,
    SpeechError,
    SpeechFailedError,
    WaitTimeoutError,
)

from ._forms import form_fields

pytestmark = pytest.mark.anyio

TEXT = "May the Force be with you."
VOICE = "minimax_english_radiant_girl"
CREATE = "pixverse/speech/create"


def _creates(route_router: respx.MockRouter, *ids: str) -> respx.Route:
    return route_router.post(CREATE).mock(
        side_effect=[httpx.Response(200, json={"audio_id": audio_id}) for audio_id in ids]
    )


def _job(router: respx.MockRouter, wire: Any, audio_id: str, *statuses: int) -> respx.Route:
    """The GET route of one job, answering the given statuses in turn (the last repeats)."""
    answers = [wire.ok(wire.record(status, audio_id=audio_id)) for status in statuses]

    def answer(request: httpx.Request) -> httpx.Response:
        return answers.pop(0) if len(answers) > 1 else answers[0]

    return router.get(f"pixverse/speech/{audio_id}").mock(side_effect=answer)


async def test_completed_at_first_try(
    api: AsyncSpeechAPI, router: respx.MockRouter, wire: Any
) -> None:
    """A job that completes is returned after one create."""
    create = _creates(router, "job-a")
    _job(router, wire, "job-a", 5, 10, 1)
    speech = await api.generate(TEXT, VOICE)
    assert speech.audio_id == "job-a"
    assert speech.audio_status is AudioStatus.COMPLETED
    assert create.call_count == 1


async def test_failed_twice_then_completed(
    api: AsyncSpeechAPI, router: respx.MockRouter, wire: Any, log_lines: list[str]
) -> None:
    """FAILED twice, then COMPLETED: three creates of the same request, the last job returned."""
    create = _creates(router, "job-a", "job-b", "job-c")
    _job(router, wire, "job-a", 10, 8)
    _job(router, wire, "job-b", 8)
    _job(router, wire, "job-c", 5, 10, 1)
    seen: list[tuple[str | None, str]] = []
    speech = await api.generate(
        TEXT,
        VOICE,
        volume=3,
        on_update=lambda s: seen.append((s.audio_id, s.status_name)),
    )
    assert speech.audio_id == "job-c"
    assert speech.is_completed
    assert create.call_count == 3
    bodies = [
        form_fields(c.request.headers["content-type"], c.request.content) for c in create.calls
    ]
    assert bodies[0] == bodies[1] == bodies[2] == {"text": TEXT, "voice_id": VOICE, "volume": "3"}
    assert seen == [
        ("job-a", "GENERATING"),
        ("job-a", "FAILED"),
        ("job-b", "FAILED"),
        ("job-c", "QUEUED"),
        ("job-c", "GENERATING"),
        ("job-c", "COMPLETED"),
    ]
    assert sum("submitting it again" in line for line in log_lines) == 2


async def test_all_tries_failed_carries_every_job(
    api: AsyncSpeechAPI, router: respx.MockRouter, wire: Any
) -> None:
    """When every try failed, GenerationFailedError carries every attempt and id."""
    create = _creates(router, "job-a", "job-b", "job-c", "job-d")
    for audio_id in ("job-a", "job-b", "job-c"):
        _job(router, wire, audio_id, 8)
    with pytest.raises(GenerationFailedError) as info:
        await api.generate(TEXT, VOICE, resubmit=2)
    error = info.value
    assert create.call_count == 3
    assert isinstance(error, SpeechFailedError)
    assert error.audio_ids == ("job-a", "job-b", "job-c")
    assert [s.audio_id for s in error.attempts] == ["job-a", "job-b", "job-c"]
    assert error.speech is error.attempts[-1]
    assert error.audio_id == "job-c"
    assert not error.out_of_time
    for audio_id in error.audio_ids:
        assert audio_id in str(error)
    assert "upstream TTS error" in str(error)


async def test_resubmit_zero_tries_once(
    api: AsyncSpeechAPI, router: respx.MockRouter, wire: Any
) -> None:
    """resubmit=0 never submits again."""
    create = _creates(router, "job-a", "job-b")
    _job(router, wire, "job-a", 8)
    with pytest.raises(GenerationFailedError) as info:
        await api.generate(TEXT, VOICE, resubmit=0)
    assert create.call_count == 1
    assert info.value.audio_ids == ("job-a",)
    assert "the only try" in str(info.value)


async def test_wait_timeout_midway_names_every_job(
    api: AsyncSpeechAPI, router: respx.MockRouter, wire: Any, clock: Any
) -> None:
    """A deadline reached while waiting on a resubmitted job names every job created."""
    _creates(router, "job-a", "job-b")
    _job(router, wire, "job-a", 8)
    _job(router, wire, "job-b", 10)
    with pytest.raises(WaitTimeoutError) as info:
        await api.generate(TEXT, VOICE, timeout=30)
    error = info.value
    assert error.audio_id == "job-b"
    assert error.audio_ids == ("job-a", "job-b")
    assert any("job-a" in note and "job-b" in note for note in error.__notes__)
    assert error.last is not None
    assert error.last.audio_status is AudioStatus.GENERATING
    assert 29 <= clock.time - 1_000.0 <= 31


async def test_create_error_on_resubmission_names_earlier_jobs(
    api: AsyncSpeechAPI, router: respx.MockRouter, wire: Any
) -> None:
    """An error of a later create still names the jobs already created."""
    router.post(CREATE).mock(
        side_effect=[httpx.Response(200, json={"audio_id": "job-a"}), wire.error(400, "no")]
    )
    _job(router, wire, "job-a", 8)
    with pytest.raises(BadRequestError) as info:
        await api.generate(TEXT, VOICE)
    assert info.value.audio_ids == ("job-a",)
    assert info.value.job_may_exist is False
    assert any("job-a" in note for note in info.value.__notes__)


async def test_callback_error_names_the_jobs(
    api: AsyncSpeechAPI, router: respx.MockRouter, wire: Any
) -> None:
    """An exception of on_update is raised as is, with a note naming the jobs created."""
    _creates(router, "job-a")
    _job(router, wire, "job-a", 10)

    def explode(speech: Speech) -> None:
        raise KeyError("mine")

    with pytest.raises(KeyError) as info:
        await api.generate(TEXT, VOICE, on_update=explode)
    assert any("job-a" in note for note in info.value.__notes__)


async def test_first_create_error_is_raised_unchanged(
    api: AsyncSpeechAPI, router: respx.MockRouter, wire: Any
) -> None:
    """A failing first create has no job to name; its own error says whether one may exist."""
    router.post(CREATE).mock(return_value=wire.error(503, "down"))
    with pytest.raises(SpeechError) as info:
        await api.generate(TEXT, VOICE)
    assert info.value.audio_ids == ()
    assert info.value.job_may_exist is True
    assert not getattr(info.value, "__notes__", [])


async def test_no_new_try_after_the_deadline(
    api: AsyncSpeechAPI, router: respx.MockRouter, wire: Any, clock: Any
) -> None:
    """A job that FAILED after the deadline is not resubmitted; the error says so."""
    create = _creates(router, "job-a", "job-b")

    def late_failure(request: httpx.Request) -> httpx.Response:
        clock.time += 100  # the poll came back after the deadline
        return wire.ok(wire.record(8, audio_id="job-a"))

    router.get("pixverse/speech/job-a").mock(side_effect=late_failure)
    with pytest.raises(GenerationFailedError) as info:
        await api.generate(TEXT, VOICE, timeout=50)
    assert create.call_count == 1
    assert info.value.out_of_time
    assert info.value.audio_ids == ("job-a",)
    assert "deadline" in str(info.value)


async def test_final_status_other_than_failed_is_returned(
    api: AsyncSpeechAPI, router: respx.MockRouter, wire: Any
) -> None:
    """A final job that is not FAILED (an unknown final status) is returned, not resubmitted."""
    create = _creates(router, "job-a", "job-b")
    router.get("pixverse/speech/job-a").mock(
        return_value=wire.ok({"audio_id": "job-a", "audio_status": 42, "audio_status_final": True})
    )
    speech = await api.generate(TEXT, VOICE)
    assert speech.audio_status == 42
    assert create.call_count == 1
