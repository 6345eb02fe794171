"""generate_many and generate_as_completed against the fake: capacity, items, failures, safety."""

from __future__ import annotations

import logging
import re
from typing import Any

import anyio
import pytest

from pixverse_speech import (
    AsyncSpeechAPI,
    BatchGenerationError,
    GenerationFailedError,
    PaymentRequiredError,
    Speech,
    SpeechError,
    _timing,
)
from pixverse_speech._generation import generate_many as run_to_end
from pixverse_speech._generation import prepare
from pixverse_speech.testing import DEFAULT_VOICE_ID, FakeSpeechAPI, Fault

from ._support import CREATE, billed_prompts, creates, most_running

pytestmark = pytest.mark.anyio

VOICE = DEFAULT_VOICE_ID
OTHER_VOICE = "minimax_english_wise_woman"
JOB_SECONDS = 10.0  # the fake fixture's queued_for + generating_for


def texts(n: int) -> list[str]:
    return [f"Line number {i} of the script." for i in range(n)]


def completed(result: object) -> Speech:
    assert isinstance(result, Speech), result
    assert result.is_completed, result
    return result


async def test_every_item_completes_in_input_order(
    api: AsyncSpeechAPI, fake: FakeSpeechAPI
) -> None:
    """Ten texts give ten COMPLETED jobs, one result per item in input order, one create each."""
    items = texts(10)
    results = await api.generate_many(items, voice_id=VOICE, max_jobs=4)
    assert [completed(r).prompt for r in results] == items
    assert len(creates(fake)) == 10
    assert billed_prompts(fake) == dict.fromkeys(items, 1)


async def test_never_more_than_max_jobs_running(api: AsyncSpeechAPI, fake: FakeSpeechAPI) -> None:
    """With max_jobs=3 the fake never runs more than 3 of the batch's jobs, and never says 429."""
    await api.generate_many(texts(12), voice_id=VOICE, max_jobs=3)
    assert most_running(fake) == 3
    assert all(r.status == 200 for r in creates(fake))


async def test_no_create_while_max_jobs_are_unfinished(
    api: AsyncSpeechAPI, fake: FakeSpeechAPI
) -> None:
    """Each create after the first max_jobs comes only once one of the batch's jobs ended."""
    await api.generate_many(texts(6), voice_id=VOICE, max_jobs=2)
    times = [r.time for r in creates(fake)]
    assert times[:2] == [0.0, 0.0]
    assert all(t >= JOB_SECONDS for t in times[2:])


async def test_mapping_items_override_keyword_settings(
    api: AsyncSpeechAPI, fake: FakeSpeechAPI
) -> None:
    """A mapping's keys override the keyword settings; voice_id and the rest apply otherwise."""
    items: list[Any] = [
        "plain text",
        {"text": "own voice", "voice_id": OTHER_VOICE},
        {"text": "own speed", "speed": 1.5},
    ]
    await api.generate_many(items, voice_id=VOICE, speed=0.8, volume=2)
    forms = [r.body for r in creates(fake)]
    assert forms == [
        {"text": "plain text", "voice_id": VOICE, "speed": "0.8", "volume": "2"},
        {"text": "own voice", "voice_id": OTHER_VOICE, "speed": "0.8", "volume": "2"},
        {"text": "own speed", "voice_id": VOICE, "speed": "1.5", "volume": "2"},
    ]


@pytest.mark.parametrize(
    ("items", "words"),
    [
        (["fine", {"text": "x", "colour": "red"}], ["item 1", "colour"]),
        (["fine", "fine", {"text": "x", "speed": "fast"}], ["item 2", "speed"]),
        (["fine", {"text": "x", "pitch": 1.5}], ["item 1", "pitch"]),
        (["fine", {"text": "x", "stability": 0.5}], ["item 1", "stability"]),
        (["fine", "   "], ["item 1", "text"]),
        (["fine", {"voice_id": VOICE}], ["item 1", "text"]),
        (["fine", 42], ["item 1", "int"]),
        (["fine", {"text": "x" * 10_001}], ["item 1", "text"]),
    ],
)
async def test_a_bad_item_is_a_value_error_and_nothing_is_sent(
    api: AsyncSpeechAPI, fake: FakeSpeechAPI, items: list[Any], words: list[str]
) -> None:
    """A bad item (unknown key, wrong type, bad value) is a ValueError naming index and field."""
    with pytest.raises(ValueError, match="item") as caught:
        await api.generate_many(items, voice_id=VOICE)
    for word in words:
        assert word in str(caught.value)
    assert fake.requests == []


async def test_bad_batch_arguments_are_refused_before_any_request(
    api: AsyncSpeechAPI, fake: FakeSpeechAPI
) -> None:
    """max_jobs outside 1-8, a negative resubmit, no voice, an unknown setting: refused, unsent."""
    with pytest.raises(ValueError, match="max_jobs"):
        await api.generate_many(["a"], voice_id=VOICE, max_jobs=9)
    with pytest.raises(ValueError, match="resubmit"):
        await api.generate_many(["a"], voice_id=VOICE, resubmit=-1)
    with pytest.raises(ValueError, match="voice_id"):
        await api.generate_many(["a"])
    with pytest.raises(TypeError, match="colour"):
        await api.generate_many(["a"], voice_id=VOICE, colour="red")
    with pytest.raises(TypeError, match="on_created"):
        await api.generate_many(["a"], voice_id=VOICE, on_created="print")
    assert fake.requests == []


async def test_a_busy_account_slows_the_batch_and_fails_no_item(
    api: AsyncSpeechAPI, fake: FakeSpeechAPI
) -> None:
    """Jobs of others fill the account: creates get 429s, wait, retry, and every item completes."""
    for _ in range(4):
        fake.add_job(prompt="someone else's job", queued_for=0, generating_for=30)
    results = await api.generate_many(texts(5), voice_id=VOICE, max_jobs=4)
    assert all(completed(r) for r in results)
    refused = [r for r in creates(fake) if r.status == 429]
    assert refused
    assert min(r.time for r in creates(fake) if r.status == 200) >= 30
    assert billed_prompts(fake)["Line number 0 of the script."] == 1


async def test_retry_after_on_create_is_honoured(api: AsyncSpeechAPI, fake: FakeSpeechAPI) -> None:
    """A 429 with Retry-After: 20 (beyond the client's own retries) delays that create by 20 s."""
    fake.inject(
        Fault.status(429, headers={"Retry-After": "20"}), method="POST", path=CREATE, times=4
    )
    results = await api.generate_many(["only one"], voice_id=VOICE)
    completed(results[0])
    attempts = creates(fake)
    assert [r.time for r in attempts] == [0.0, 20.0, 40.0, 60.0, 80.0]
    assert billed_prompts(fake) == {"only one": 1}


async def test_failed_jobs_are_resubmitted_then_reported_with_every_id(
    api: AsyncSpeechAPI, fake: FakeSpeechAPI
) -> None:
    """resubmit=1: an item FAILED twice gets a GenerationFailedError with both ids; others fine."""
    fake.fail_next(2)
    seen: list[tuple[int, str]] = []
    results = await api.generate_many(
        ["unlucky", "lucky"],
        voice_id=VOICE,
        max_jobs=1,
        resubmit=1,
        on_created=lambda i, a: seen.append((i, a)),
    )
    error = results[0]
    assert isinstance(error, GenerationFailedError)
    assert len(error.audio_ids) == 2
    assert [s.audio_id for s in error.attempts] == list(error.audio_ids)
    assert seen[:2] == [(0, error.audio_ids[0]), (0, error.audio_ids[1])]
    assert completed(results[1]).prompt == "lucky"


async def test_a_failed_job_then_a_completed_one(api: AsyncSpeechAPI, fake: FakeSpeechAPI) -> None:
    """One FAILED try is resubmitted and the item's result is its COMPLETED second job."""
    fake.fail_next(1)
    created: list[tuple[int, str]] = []

    async def record(index: int, audio_id: str) -> None:
        created.append((index, audio_id))

    results = await api.generate_many(["again"], voice_id=VOICE, resubmit=1, on_created=record)
    assert completed(results[0]).audio_id == created[1][1]
    assert [i for i, _ in created] == [0, 0]


async def test_dropped_create_is_adopted_not_created_again(
    api: AsyncSpeechAPI, fake: FakeSpeechAPI, caplog: pytest.LogCaptureFixture
) -> None:
    """The connection drops after the POST reached the fake: the job is found and adopted."""
    fake.inject(Fault.drop(), method="POST", path=CREATE, times=1)
    created: list[tuple[int, str]] = []
    with caplog.at_level(logging.WARNING, logger="pixverse_speech"):
        results = await api.generate_many(
            texts(3), voice_id=VOICE, on_created=lambda i, a: created.append((i, a))
        )
    assert fake.faults_injected == 1
    assert len(creates(fake)) == 3  # the dropped one included: no second POST for item 0
    assert billed_prompts(fake) == dict.fromkeys(texts(3), 1)
    assert [completed(r).audio_id for r in results] == [a for _, a in sorted(created)]
    assert "adopted" in caplog.text


async def test_dropped_create_later_in_the_batch_is_adopted(
    api: AsyncSpeechAPI, fake: FakeSpeechAPI
) -> None:
    """A drop after other creates (the server's clock known): adopted by prompt, voice and time."""
    items = texts(6)

    def drop_next(index: int, audio_id: str) -> None:
        if index == 2:
            fake.inject(Fault.drop(), method="POST", path=CREATE, times=1)

    results = await api.generate_many(items, voice_id=VOICE, max_jobs=2, on_created=drop_next)
    assert fake.faults_injected == 1
    assert all(completed(r) for r in results)
    assert len(creates(fake)) == 6
    assert billed_prompts(fake) == dict.fromkeys(items, 1)


async def test_a_create_that_did_not_land_is_resubmitted_after_a_look(
    api: AsyncSpeechAPI, fake: FakeSpeechAPI, caplog: pytest.LogCaptureFixture
) -> None:
    """A 502 on create may have created the job: the list is read; nothing found, it goes again."""
    fake.inject(Fault.status(502), method="POST", path=CREATE, times=1)
    with caplog.at_level(logging.WARNING, logger="pixverse_speech"):
        results = await api.generate_many(["once only"], voice_id=VOICE)
    completed(results[0])
    assert billed_prompts(fake) == {"once only": 1}
    assert len(creates(fake)) == 2
    assert "submitting it again" in caplog.text


async def test_adoption_never_takes_a_job_claimed_by_another_item(
    api: AsyncSpeechAPI, fake: FakeSpeechAPI
) -> None:
    """Two identical texts, the second create dropped: it adopts its own job, not the first's."""

    def drop_next(index: int, audio_id: str) -> None:
        if index == 0:
            fake.inject(Fault.drop(), method="POST", path=CREATE, times=1)

    results = await api.generate_many(
        ["twin", "twin"], voice_id=VOICE, max_jobs=1, on_created=drop_next
    )
    ids = [completed(r).audio_id for r in results]
    assert fake.faults_injected == 1
    assert ids[0] != ids[1]
    assert sorted(ids) == sorted(fake.audio_ids)


async def test_deadline_raises_with_results_and_every_created_id(
    api: AsyncSpeechAPI, fake: FakeSpeechAPI
) -> None:
    """The batch deadline raises BatchGenerationError carrying results so far and created ids."""
    with pytest.raises(BatchGenerationError) as caught:
        await api.generate_many(texts(6), voice_id=VOICE, max_jobs=2, timeout=15)
    error = caught.value
    assert error.timed_out
    assert len(error.results) == 6
    assert sum(isinstance(r, Speech) for r in error.results) == 2
    assert sorted(error.created) == [0, 1, 2, 3]
    assert set(error.audio_ids) == set(fake.audio_ids)
    assert error.results[4] is None


async def test_an_account_error_stops_the_batch_and_keeps_the_ids(
    api: AsyncSpeechAPI, fake: FakeSpeechAPI
) -> None:
    """A 402 on create is no item's fault: BatchGenerationError from it, with the ids so far."""
    fake.inject(Fault.status(402), method="POST", path=CREATE, times=10)
    with pytest.raises(BatchGenerationError) as caught:
        await api.generate_many(texts(3), voice_id=VOICE)
    assert isinstance(caught.value.__cause__, PaymentRequiredError)
    assert caught.value.created == {}
    assert not caught.value.timed_out


async def test_an_item_error_fails_that_item_only(api: AsyncSpeechAPI, fake: FakeSpeechAPI) -> None:
    """A 400 on one create ends that item with the error; the others complete."""
    fake.inject(Fault.status(400), method="POST", path=CREATE, times=1)
    results = await api.generate_many(texts(3), voice_id=VOICE, max_jobs=1)
    assert isinstance(results[0], SpeechError)
    assert results[0].job_may_exist is False
    assert all(completed(r) for r in results[1:])


async def test_on_created_raising_stops_the_batch(api: AsyncSpeechAPI, fake: FakeSpeechAPI) -> None:
    """A caller that cannot record an id stops the batch: no more jobs are created."""

    def broken(index: int, audio_id: str) -> None:
        raise OSError("disk full")

    with pytest.raises(BatchGenerationError) as caught:
        await api.generate_many(texts(5), voice_id=VOICE, max_jobs=1, on_created=broken)
    assert isinstance(caught.value.__cause__, OSError)
    assert len(fake.audio_ids) == 1
    assert list(caught.value.created.values()) == [tuple(fake.audio_ids)]


async def test_on_update_sees_every_job(api: AsyncSpeechAPI, fake: FakeSpeechAPI) -> None:
    """on_update sees each job's first record and its final one."""
    seen: dict[str, list[str]] = {}
    await api.generate_many(
        texts(3),
        voice_id=VOICE,
        on_update=lambda s: seen.setdefault(s.audio_id or "", []).append(s.status_name),
    )
    assert sorted(seen) == sorted(fake.audio_ids)
    assert all(statuses[-1] == "COMPLETED" for statuses in seen.values())


async def test_no_items_no_requests(api: AsyncSpeechAPI, fake: FakeSpeechAPI) -> None:
    """An empty batch returns an empty list without a request."""
    assert await api.generate_many([], voice_id=VOICE) == []
    assert fake.requests == []


async def test_as_completed_yields_each_item_as_it_ends(
    api: AsyncSpeechAPI, fake: FakeSpeechAPI
) -> None:
    """generate_as_completed yields (index, result) once for every item, the first wave first."""
    items = texts(5)
    got = [
        (i, completed(r).prompt) async for i, r in api.generate_as_completed(items, voice_id=VOICE)
    ]
    assert sorted(got) == list(enumerate(items))
    assert got[-1][0] == 4  # the item that waited for a free slot ends last
    assert len(creates(fake)) == 5


async def test_as_completed_break_creates_nothing_more(
    api: AsyncSpeechAPI, fake: FakeSpeechAPI
) -> None:
    """Leaving the loop after the first item stops the batch: no create, no poll afterwards."""
    iterator = api.generate_as_completed(texts(8), voice_id=VOICE, max_jobs=2)
    async for _ in iterator:
        break
    await iterator.aclose()  # type: ignore[attr-defined]
    sent = len(fake.requests)
    await _timing.current().sleep(100)
    assert len(fake.requests) == sent
    assert len(fake.audio_ids) <= 3


def resumed(api: AsyncSpeechAPI, items: list[str], **resume: Any) -> Any:
    """A batch of ``items`` resumed from what an earlier run recorded (the CLI's manifest)."""
    return prepare(
        api,
        items,
        voice_id=VOICE,
        settings={},
        max_jobs=4,
        resubmit=1,
        timeout=600,
        on_update=None,
        on_created=None,
        **resume,
    )


async def test_resume_waits_for_a_recorded_job_without_creating(
    api: AsyncSpeechAPI, fake: FakeSpeechAPI
) -> None:
    """An item with a recorded, unfinished job is waited for; only the other item is created."""
    running = fake.add_job(prompt="recorded", voice_id=VOICE)
    generation = resumed(api, ["recorded", "new"], existing={0: [running]}, claimed=[running])
    results = await run_to_end(generation)
    assert completed(results[0]).audio_id == running
    assert [r.body["text"] for r in creates(fake) if r.body] == ["new"]


async def test_resume_lookup_adopts_a_landed_job(api: AsyncSpeechAPI, fake: FakeSpeechAPI) -> None:
    """An item caught submitting by a crash: its landed job is adopted, nothing created."""
    other = fake.add_job(prompt="landed", voice_id=VOICE)
    landed = fake.add_job(prompt="landed", voice_id=VOICE)
    generation = resumed(api, ["landed"], lookup=[0], claimed=[other])
    results = await run_to_end(generation)
    assert completed(results[0]).audio_id == landed
    assert creates(fake) == []


async def test_resume_lookup_never_creates_blindly(
    api: AsyncSpeechAPI, fake: FakeSpeechAPI
) -> None:
    """When the list cannot be read, the item ends with that error (job_may_exist), unsent."""
    fake.inject(Fault.status(400), method="GET", path=re.compile(r"/speech/$"))
    generation = resumed(api, ["unknown fate"], lookup=[0])
    results = await run_to_end(generation)
    assert isinstance(results[0], SpeechError)
    assert results[0].job_may_exist is True
    assert creates(fake) == []


async def test_as_completed_raises_the_batch_error_at_the_deadline(
    api: AsyncSpeechAPI, fake: FakeSpeechAPI
) -> None:
    """generate_as_completed yields what ended, then raises BatchGenerationError at the deadline."""
    got: list[int] = []

    async def consume() -> None:
        async for index, _ in api.generate_as_completed(
            texts(6), voice_id=VOICE, max_jobs=2, timeout=15
        ):
            got.append(index)

    with pytest.raises(BatchGenerationError) as caught:
        await consume()
    assert sorted(got) == [0, 1]
    assert caught.value.timed_out
    assert sorted(caught.value.created) == [0, 1, 2, 3]


async def test_cancelling_the_batch_finishes_the_create_in_flight(
    api: AsyncSpeechAPI, fake: FakeSpeechAPI, caplog: pytest.LogCaptureFixture
) -> None:
    """Cancelled from outside, the batch lets a create in flight finish and logs every id."""
    created: list[str] = []

    async def cancel_after_second(index: int, audio_id: str) -> None:
        created.append(audio_id)
        if index == 1:
            scope.cancel()

    with caplog.at_level(logging.WARNING, logger="pixverse_speech"), anyio.CancelScope() as scope:
        await api.generate_many(texts(5), voice_id=VOICE, on_created=cancel_after_second)
    assert scope.cancelled_caught
    assert created == fake.audio_ids
    assert all(audio_id in caplog.text for audio_id in created)
