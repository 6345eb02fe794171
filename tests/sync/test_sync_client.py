"""SpeechAPI: the async client's behaviour, through the blocking facade, against the fake API."""

from __future__ import annotations

import inspect
import io
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from pixverse_speech import (
    AsyncSpeechAPI,
    AudioNotAvailableError,
    BadRequestError,
    GenerationFailedError,
    NotFoundError,
    ServerError,
    Speech,
    SpeechAPI,
    SpeechError,
    SpeechFailedError,
    WaitTimeoutError,
)
from pixverse_speech.testing import DEFAULT_VOICE_ID, FakeClock, FakeSpeechAPI, Fault

MISSING = "user:1-pixverse:fake@example.com-speech:1"


@pytest.fixture
def fake() -> Iterator[FakeSpeechAPI[FakeClock]]:
    fake = FakeSpeechAPI(clock=FakeClock(), max_jobs=8)
    with fake.virtual_time():
        yield fake


@pytest.fixture
def api(fake: FakeSpeechAPI[FakeClock]) -> Iterator[SpeechAPI]:
    with fake.sync_client(email="fake@example.com") as client:
        yield client


# -- the facade mirrors the async client ---------------------------------------------------------


def _public_methods(cls: type) -> dict[str, inspect.Signature]:
    return {
        name: inspect.signature(member)
        for name, member in vars(cls).items()
        if not name.startswith("_") and callable(member)
    }


def test_every_async_method_has_a_blocking_twin_with_the_same_parameters() -> None:
    """Each public AsyncSpeechAPI method exists on SpeechAPI with the same parameters."""
    async_methods = _public_methods(AsyncSpeechAPI)
    sync_methods = _public_methods(SpeechAPI)
    async_methods.pop("aclose")
    assert "close" in sync_methods
    for name, signature in async_methods.items():
        assert name in sync_methods, name
        assert list(sync_methods[name].parameters.values()) == list(
            signature.parameters.values()
        ), name


def test_constructor_has_the_same_parameters() -> None:
    """SpeechAPI() takes exactly AsyncSpeechAPI()'s arguments, with the same defaults."""
    assert inspect.signature(SpeechAPI.__init__) == inspect.signature(AsyncSpeechAPI.__init__)


def test_bad_argument_starts_no_thread() -> None:
    """A bad constructor argument raises before the loop thread starts."""
    before = threading.active_count()
    with pytest.raises(ValueError, match="max_retries"):
        SpeechAPI("user:1-token-value", max_retries=-1)
    assert threading.active_count() == before


# -- get --------------------------------------------------------------------------------------


def test_get_returns_the_record(fake: FakeSpeechAPI[FakeClock], api: SpeechAPI) -> None:
    """get() blocks and returns the decoded job."""
    audio_id = fake.add_job(prompt="sync get")
    speech = api.get(audio_id)
    assert isinstance(speech, Speech)
    assert speech.audio_id == audio_id
    assert speech.prompt == "sync get"


def test_get_unknown_id_raises_not_found(api: SpeechAPI) -> None:
    """An API error reaches the caller as the same SpeechError subclass."""
    with pytest.raises(NotFoundError) as info:
        api.get(MISSING)
    assert info.value.audio_id == MISSING


def test_get_retries_a_503(fake: FakeSpeechAPI[FakeClock], api: SpeechAPI) -> None:
    """Retries happen as in the async client: one 503, then the record."""
    audio_id = fake.add_job()
    fake.inject(Fault.status(503), method="GET", path="speech/user", times=1)
    assert api.get(audio_id).audio_id == audio_id
    assert sum(1 for r in fake.requests if r.method == "GET") == 2


def test_get_blank_id_is_refused_before_any_request(
    fake: FakeSpeechAPI[FakeClock], api: SpeechAPI
) -> None:
    """Argument checks are the async client's: a ValueError naming audio_id, nothing sent."""
    with pytest.raises(ValueError, match="audio_id"):
        api.get("  ")
    assert fake.requests == []


# -- list and paging --------------------------------------------------------------------------


def test_list_returns_one_page(fake: FakeSpeechAPI[FakeClock], api: SpeechAPI) -> None:
    """list() returns a page, newest first, with has_more."""
    ids = [fake.add_job() for _ in range(3)]
    page = api.list(limit=2)
    assert [s.audio_id for s in page.data] == ids[::-1][:2]
    assert page.has_more


def test_iter_speech_is_a_plain_iterator_over_every_page(
    fake: FakeSpeechAPI[FakeClock], api: SpeechAPI
) -> None:
    """iter_speech() yields every job once across pages, in a plain for loop."""
    ids = [fake.add_job() for _ in range(5)]
    seen = [speech.audio_id for speech in api.iter_speech(page_size=2)]
    assert seen == ids[::-1]


def test_iter_speech_close_stops_paging(fake: FakeSpeechAPI[FakeClock], api: SpeechAPI) -> None:
    """Closing the iterator early fetches nothing more."""
    for _ in range(5):
        fake.add_job()
    with api.iter_speech(page_size=2) as speeches:
        next(speeches)
    before = len(fake.requests)
    assert list(speeches) == []
    assert len(fake.requests) == before


def test_iter_speech_checks_arguments_at_the_call(api: SpeechAPI) -> None:
    """A bad page_size is refused when iter_speech() is called, not at the first item."""
    with pytest.raises(ValueError, match="page_size"):
        api.iter_speech(page_size=0)


# -- waits ------------------------------------------------------------------------------------


def test_wait_until_final_returns_the_completed_job(
    fake: FakeSpeechAPI[FakeClock], api: SpeechAPI
) -> None:
    """A wait on virtual time returns the final record and reports each status once."""
    audio_id = fake.add_job(queued_for=2, generating_for=30)
    seen: list[str] = []
    speech = api.wait_until_final(audio_id, on_update=lambda s: seen.append(s.status_name))
    assert speech.is_completed
    assert seen == ["QUEUED", "GENERATING", "COMPLETED"]


def test_wait_failed_job_raises(fake: FakeSpeechAPI[FakeClock], api: SpeechAPI) -> None:
    """A FAILED job raises SpeechFailedError, or returns with raise_on_failure=False."""
    audio_id = fake.add_job(outcome="failed", fail_reason="nope")
    with pytest.raises(SpeechFailedError):
        api.wait_until_final(audio_id)
    assert api.wait_until_final(audio_id, raise_on_failure=False).is_failed


def test_wait_timeout(fake: FakeSpeechAPI[FakeClock], api: SpeechAPI) -> None:
    """The deadline raises WaitTimeoutError with the last record seen."""
    audio_id = fake.add_job(generating_for=3600)
    with pytest.raises(WaitTimeoutError) as info:
        api.wait_until_final(audio_id, timeout=30)
    assert info.value.last is not None


def test_wait_many_returns_one_result_per_id(
    fake: FakeSpeechAPI[FakeClock], api: SpeechAPI
) -> None:
    """wait_many() returns a Speech or a SpeechError per id, in order."""
    good = fake.add_job()
    bad = fake.add_job(outcome="failed")
    results = api.wait_many([good, bad, MISSING])
    assert isinstance(results[0], Speech)
    assert results[0].is_completed
    assert isinstance(results[1], Speech)
    assert results[1].is_failed
    assert isinstance(results[2], SpeechError)


def test_as_completed_yields_soonest_first(fake: FakeSpeechAPI[FakeClock], api: SpeechAPI) -> None:
    """as_completed() is a plain iterator yielding each job as it ends, soonest first."""
    slow = fake.add_job(generating_for=60)
    quick = fake.add_job(generating_for=5)
    order = [audio_id for audio_id, _ in api.as_completed([slow, quick])]
    assert order == [quick, slow]


def test_as_completed_break_stops_polling(fake: FakeSpeechAPI[FakeClock], api: SpeechAPI) -> None:
    """Leaving the loop after the first item sends no more requests."""
    ids = [fake.add_job(generating_for=10 * (i + 1)) for i in range(3)]
    completions = api.as_completed(ids)
    for _ in completions:
        break
    completions.close()
    before = len(fake.requests)
    fake.clock.advance(600)
    assert list(completions) == []
    assert len(fake.requests) == before


# -- create, generate, download --------------------------------------------------------------


def test_create_returns_the_new_job(fake: FakeSpeechAPI[FakeClock], api: SpeechAPI) -> None:
    """create() posts the job and returns its audio_id."""
    speech = api.create("Hello there.", DEFAULT_VOICE_ID)
    assert speech.audio_id in fake.audio_ids


def test_create_bad_input_sends_nothing(fake: FakeSpeechAPI[FakeClock], api: SpeechAPI) -> None:
    """A setting out of range is a ValueError naming it, with nothing sent."""
    with pytest.raises(ValueError, match="pitch"):
        api.create("Hi", DEFAULT_VOICE_ID, pitch=40)
    assert fake.requests == []


def test_create_refused_by_the_api(api: SpeechAPI) -> None:
    """An unknown voice is the API's 400, as BadRequestError."""
    with pytest.raises(BadRequestError):
        api.create("Hi", "no-such-voice")


def test_generate_resubmits_a_failed_job(fake: FakeSpeechAPI[FakeClock], api: SpeechAPI) -> None:
    """generate() resubmits a FAILED job and, when every try fails, names every job."""
    fake.fail_next(2)
    with pytest.raises(GenerationFailedError) as info:
        api.generate("Hi", DEFAULT_VOICE_ID, resubmit=1)
    assert len(info.value.audio_ids) == 2


def test_generate_many_returns_one_result_per_item(
    fake: FakeSpeechAPI[FakeClock], api: SpeechAPI
) -> None:
    """generate_many() blocks until every item is final and keeps the input order."""
    texts = ["One.", "Two.", "Three."]
    created: list[tuple[int, str]] = []
    results = api.generate_many(
        texts, voice_id=DEFAULT_VOICE_ID, max_jobs=2, on_created=lambda i, a: created.append((i, a))
    )
    assert [r.prompt for r in results if isinstance(r, Speech)] == texts
    assert sorted(i for i, _ in created) == [0, 1, 2]


def test_generate_as_completed_is_a_plain_iterator(
    fake: FakeSpeechAPI[FakeClock], api: SpeechAPI
) -> None:
    """generate_as_completed() yields (index, result) for every item through a plain for loop."""
    seen = dict(api.generate_as_completed(["A.", "B."], voice_id=DEFAULT_VOICE_ID))
    assert sorted(seen) == [0, 1]
    assert all(isinstance(result, Speech) and result.is_completed for result in seen.values())


def test_download_to_a_path(fake: FakeSpeechAPI[FakeClock], api: SpeechAPI, tmp_path: Path) -> None:
    """download() writes the audio to a path and returns the byte count."""
    audio_id = fake.add_job(generating_for=1)
    speech = api.wait_until_final(audio_id)
    target = tmp_path / "clip.mp3"
    written = api.download(speech, target)
    assert target.read_bytes() == fake.media_bytes(audio_id)
    assert written == len(fake.media_bytes(audio_id))


def test_download_to_a_file_object(fake: FakeSpeechAPI[FakeClock], api: SpeechAPI) -> None:
    """download() writes into a binary file object and leaves it open."""
    speech = api.wait_until_final(fake.add_job(generating_for=1))
    buffer = io.BytesIO()
    api.download(speech, buffer)
    assert buffer.getvalue()
    assert not buffer.closed


def test_download_not_completed_is_refused(fake: FakeSpeechAPI[FakeClock], api: SpeechAPI) -> None:
    """A job that is not COMPLETED raises AudioNotAvailableError."""
    speech = api.get(fake.add_job(generating_for=60))
    with pytest.raises(AudioNotAvailableError):
        api.download(speech, io.BytesIO())


def test_voices_and_models(api: SpeechAPI) -> None:
    """The catalog calls work through the facade."""
    assert any(voice.voice_id == DEFAULT_VOICE_ID for voice in api.voices())
    assert api.models().default_model


# -- lifecycle --------------------------------------------------------------------------------


def test_close_stops_the_thread_and_is_idempotent(fake: FakeSpeechAPI[FakeClock]) -> None:
    """close() closes the client and ends its loop thread; a second close() is a no-op."""
    api = fake.sync_client()
    thread = api._loop.thread
    api.close()
    api.close()
    assert api.is_closed
    assert not thread.is_alive()
    assert "closed" in repr(api)


def test_closed_client_refuses_calls(fake: FakeSpeechAPI[FakeClock]) -> None:
    """A call after close() is a RuntimeError, not a hang."""
    api = fake.sync_client()
    api.close()
    with pytest.raises(RuntimeError, match="closed"):
        api.get(fake.add_job())


def test_calling_from_on_update_is_a_clear_error(
    fake: FakeSpeechAPI[FakeClock], api: SpeechAPI
) -> None:
    """A facade call from inside its own loop (an on_update callback) raises instead of hanging."""
    audio_id = fake.add_job()
    errors: list[BaseException] = []

    def nested(speech: Speech) -> None:
        try:
            api.get(audio_id)
        except RuntimeError as exc:
            errors.append(exc)

    api.wait_until_final(audio_id, on_update=nested)
    assert errors
    assert "own event loop" in str(errors[0])


def test_calls_from_several_threads(fake: FakeSpeechAPI[FakeClock], api: SpeechAPI) -> None:
    """One SpeechAPI serves calls from several threads at once."""
    ids = [fake.add_job() for _ in range(6)]
    got: dict[str, str | None] = {}

    def worker(audio_id: str) -> None:
        got[audio_id] = api.get(audio_id).audio_id

    threads = [threading.Thread(target=worker, args=(audio_id,)) for audio_id in ids]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    assert got == {audio_id: audio_id for audio_id in ids}


def test_with_options_view_shares_the_loop_and_pool(
    fake: FakeSpeechAPI[FakeClock], api: SpeechAPI
) -> None:
    """A sync view runs on the same loop thread and pool; closing it leaves the owner open."""
    audio_id = fake.add_job()
    fake.inject(Fault.status(503), method="GET", path="speech/user", times=1)
    view = api.with_options(max_retries=0)
    assert view._loop is api._loop
    assert view.async_client._sender.client is api.async_client._sender.client
    with pytest.raises(ServerError):
        view.get(audio_id)
    view.close()
    assert view.is_closed
    assert api.get(audio_id).audio_id == audio_id
