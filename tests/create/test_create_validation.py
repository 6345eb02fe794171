"""Every create argument is checked before any request, with an error naming the argument."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
import respx

from pixverse_speech import AsyncSpeechAPI

from ._forms import form_fields

pytestmark = pytest.mark.anyio

TEXT = "Use API dot net."
VOICE = "minimax_english_radiant_girl"

# (keyword arguments beyond text/voice_id, error type, the argument the message must name)
BAD: list[tuple[dict[str, Any], type[Exception], str]] = [
    # required strings
    ({"text": None}, TypeError, "text"),
    ({"text": b"bytes"}, TypeError, "text"),
    ({"text": ""}, ValueError, "text"),
    ({"text": " \n\t"}, ValueError, "text"),
    ({"voice_id": None}, TypeError, "voice_id"),
    ({"voice_id": 42}, TypeError, "voice_id"),
    ({"voice_id": "  "}, ValueError, "voice_id"),
    ({"model": ""}, ValueError, "model"),
    ({"model": 2.8}, TypeError, "model"),
    ({"email": ""}, ValueError, "email"),
    ({"email": ["me@example.com"]}, TypeError, "email"),
    # text length per model
    ({"text": "a" * 10_001}, ValueError, "text"),
    ({"text": "a" * 10_001, "model": "speech-2.8-turbo"}, ValueError, "text"),
    ({"text": "a" * 10_001, "model": "eleven-multilingual-v2"}, ValueError, "text"),
    ({"text": "a" * 5_001, "model": "eleven-v3"}, ValueError, "text"),
    ({"text": "a" * 40_001, "model": "eleven-turbo-v2.5"}, ValueError, "text"),
    # MiniMax ranges and types
    ({"volume": -0.1}, ValueError, "volume"),
    ({"volume": 10.01}, ValueError, "volume"),
    ({"volume": True}, TypeError, "volume"),
    ({"volume": "5"}, TypeError, "volume"),
    ({"volume": float("nan")}, ValueError, "volume"),
    ({"pitch": 13}, ValueError, "pitch"),
    ({"pitch": -13}, ValueError, "pitch"),
    ({"pitch": 1.5}, TypeError, "pitch"),
    ({"pitch": 2.0}, TypeError, "pitch"),
    ({"pitch": False}, TypeError, "pitch"),
    ({"emotion": "joyful"}, ValueError, "emotion"),
    ({"emotion": "Happy"}, ValueError, "emotion"),
    ({"emotion": 1}, TypeError, "emotion"),
    ({"speed": 0.49}, ValueError, "speed"),
    ({"speed": 2.01, "model": "speech-2.8-turbo"}, ValueError, "speed"),
    ({"speed": float("inf")}, ValueError, "speed"),
    ({"speed": True}, TypeError, "speed"),
    # ElevenLabs ranges and types
    ({"speed": 0.69, "model": "eleven-v3"}, ValueError, "speed"),
    ({"speed": 1.21, "model": "eleven-turbo-v2.5"}, ValueError, "speed"),
    ({"speed": 2.0, "model": "eleven-multilingual-v2"}, ValueError, "speed"),
    ({"stability": -0.01, "model": "eleven-v3"}, ValueError, "stability"),
    ({"stability": 1.01, "model": "eleven-v3"}, ValueError, "stability"),
    ({"stability": "0.5", "model": "eleven-v3"}, TypeError, "stability"),
    ({"similarity_boost": 2, "model": "eleven-turbo-v2.5"}, ValueError, "similarity_boost"),
    ({"similarity_boost": True, "model": "eleven-v3"}, TypeError, "similarity_boost"),
    ({"style": 1.5, "model": "eleven-multilingual-v2"}, ValueError, "style"),
    ({"style": -1, "model": "eleven-multilingual-v2"}, ValueError, "style"),
    ({"use_speaker_boost": 1, "model": "eleven-multilingual-v2"}, TypeError, "use_speaker_boost"),
    (
        {"use_speaker_boost": "true", "model": "eleven-multilingual-v2"},
        TypeError,
        "use_speaker_boost",
    ),
    # settings of the other provider family
    ({"volume": 5, "model": "eleven-v3"}, ValueError, "volume"),
    ({"pitch": 0, "model": "eleven-turbo-v2.5"}, ValueError, "pitch"),
    ({"emotion": "happy", "model": "eleven-multilingual-v2"}, ValueError, "emotion"),
    ({"stability": 0.5}, ValueError, "stability"),
    ({"similarity_boost": 0.5, "model": "speech-2.8-turbo"}, ValueError, "similarity_boost"),
    ({"style": 0.5, "model": "speech-2.8-hd"}, ValueError, "style"),
    ({"use_speaker_boost": True}, ValueError, "use_speaker_boost"),
    # eleven-multilingual-v2 only
    ({"style": 0.5, "model": "eleven-v3"}, ValueError, "style"),
    ({"use_speaker_boost": True, "model": "eleven-turbo-v2.5"}, ValueError, "use_speaker_boost"),
    # language_code
    ({"language_code": "en", "model": "eleven-v3"}, ValueError, "language_code"),
    ({"language_code": ""}, ValueError, "language_code"),
    ({"language_code": 7}, TypeError, "language_code"),
    # reply_url / reply_ref
    ({"reply_url": "https://example.com/" + "a" * 1005}, ValueError, "reply_url"),
    ({"reply_url": "ftp://example.com/hook"}, ValueError, "reply_url"),
    ({"reply_url": "/relative/hook"}, ValueError, "reply_url"),
    ({"reply_url": ""}, ValueError, "reply_url"),
    ({"reply_url": 1}, TypeError, "reply_url"),
    ({"reply_ref": "r" * 1025}, ValueError, "reply_ref"),
    ({"reply_ref": ""}, ValueError, "reply_ref"),
    ({"reply_ref": {"ref": 1}}, TypeError, "reply_ref"),
    # max_jobs
    ({"max_jobs": 0}, ValueError, "max_jobs"),
    ({"max_jobs": 9}, ValueError, "max_jobs"),
    ({"max_jobs": 2.0}, TypeError, "max_jobs"),
    ({"max_jobs": True}, TypeError, "max_jobs"),
    ({"max_jobs": "4"}, TypeError, "max_jobs"),
]


def _call(kwargs: dict[str, Any]) -> tuple[object, object, dict[str, Any]]:
    options = dict(kwargs)
    text = options.pop("text", TEXT)
    voice_id = options.pop("voice_id", VOICE)
    return text, voice_id, options


@pytest.fixture
def create_route(router: respx.MockRouter) -> respx.Route:
    """The create endpoint, answering a job id."""
    return router.post("pixverse/speech/create").mock(
        return_value=httpx.Response(200, json={"audio_id": "new-job"})
    )


@pytest.mark.parametrize(
    ("kwargs", "error", "field"), BAD, ids=[f"{f}-{i}" for i, (_, _, f) in enumerate(BAD)]
)
async def test_bad_create_argument_is_refused_before_any_request(
    api: AsyncSpeechAPI,
    router: respx.MockRouter,
    create_route: respx.Route,
    kwargs: dict[str, Any],
    error: type[Exception],
    field: str,
) -> None:
    """Each bad argument raises its TypeError/ValueError naming it, and nothing is sent."""
    text, voice_id, options = _call(kwargs)
    with pytest.raises(error) as info:
        await api.create(text, voice_id, **options)  # type: ignore[arg-type]
    assert field in str(info.value)
    assert create_route.call_count == 0
    assert len(router.calls) == 0


@pytest.mark.parametrize(
    ("kwargs", "error", "field"), BAD[:12], ids=[f"{f}-{i}" for i, (_, _, f) in enumerate(BAD[:12])]
)
async def test_bad_generate_argument_is_refused_before_any_request(
    api: AsyncSpeechAPI,
    router: respx.MockRouter,
    kwargs: dict[str, Any],
    error: type[Exception],
    field: str,
) -> None:
    """generate() checks the same create arguments before any request."""
    text, voice_id, options = _call(kwargs)
    with pytest.raises(error, match=field):
        await api.generate(text, voice_id, **options)  # type: ignore[arg-type]
    assert len(router.calls) == 0


@pytest.mark.parametrize(
    ("kwargs", "error", "field"),
    [
        ({"resubmit": -1}, ValueError, "resubmit"),
        ({"resubmit": True}, TypeError, "resubmit"),
        ({"resubmit": 1.0}, TypeError, "resubmit"),
        ({"timeout": 0}, ValueError, "timeout"),
        ({"poll_interval": -1}, ValueError, "poll_interval"),
        ({"on_update": "print"}, TypeError, "on_update"),
    ],
)
async def test_bad_generate_wait_option_is_refused_before_any_request(
    api: AsyncSpeechAPI,
    router: respx.MockRouter,
    kwargs: dict[str, Any],
    error: type[Exception],
    field: str,
) -> None:
    """generate()'s own options are checked before any request too."""
    with pytest.raises(error, match=field):
        await api.generate(TEXT, VOICE, **kwargs)
    assert len(router.calls) == 0


def test_messages_name_the_family_that_takes_a_setting() -> None:
    """A setting of the other family says which models do take it."""
    from pixverse_speech._create import build_create_request

    with pytest.raises(ValueError, match=r"volume is not accepted by model 'eleven-v3'") as info:
        build_create_request(TEXT, VOICE, model="eleven-v3", volume=5)
    assert "MiniMax (speech-2.8-hd, speech-2.8-turbo)" in str(info.value)
    with pytest.raises(ValueError, match="ElevenLabs \\(eleven-multilingual-v2\\)"):
        build_create_request(TEXT, VOICE, model="eleven-turbo-v2.5", style=0.3)
    with pytest.raises(ValueError, match="10,000"):
        build_create_request("a" * 10_001, VOICE)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"volume": 0, "pitch": -12, "speed": 0.5},
        {"volume": 10, "pitch": 12, "speed": 2, "emotion": "calm"},
        {"text": "a" * 10_000},
        {"text": "a" * 5_000, "model": "eleven-v3", "speed": 0.7, "stability": 0},
        {"text": "a" * 40_000, "model": "eleven-turbo-v2.5", "speed": 1.2},
        {"model": "eleven-multilingual-v2", "style": 1, "use_speaker_boost": False},
        {"model": "eleven-multilingual-v2", "language_code": "de", "similarity_boost": 1},
        {"reply_url": "https://example.com/" + "a" * 1004, "reply_ref": "r" * 1024},
        {"max_jobs": 1},
        {"max_jobs": 8},
    ],
)
async def test_values_on_the_limits_are_sent(
    api: AsyncSpeechAPI, create_route: respx.Route, kwargs: dict[str, Any]
) -> None:
    """Values exactly on a documented limit are accepted and sent."""
    text, voice_id, options = _call(kwargs)
    speech = await api.create(text, voice_id, **options)  # type: ignore[arg-type]
    assert speech.audio_id == "new-job"
    assert create_route.call_count == 1


async def test_unknown_model_passes_through_unvalidated(
    api: AsyncSpeechAPI, create_route: respx.Route
) -> None:
    """A model not in the table is sent as is, with out-of-range and cross-family settings."""
    await api.create(
        "a" * 50_000,
        VOICE,
        model="speech-3.0-future",
        volume=99,
        stability=7,
        use_speaker_boost=True,
        emotion="whispering",
        language_code="xx",
    )
    request = create_route.calls.last.request
    fields = form_fields(request.headers["content-type"], request.content)
    assert fields["model"] == "speech-3.0-future"
    assert fields["volume"] == "99"
    assert fields["stability"] == "7"
    assert fields["use_speaker_boost"] == "true"
    assert fields["emotion"] == "whispering"
    assert fields["language_code"] == "xx"


@pytest.mark.parametrize(
    ("kwargs", "error", "field"),
    [
        ({"volume": True}, TypeError, "volume"),
        ({"pitch": 1.5}, TypeError, "pitch"),
        ({"speed": "fast"}, TypeError, "speed"),
        ({"emotion": ""}, ValueError, "emotion"),
        ({"use_speaker_boost": "yes"}, TypeError, "use_speaker_boost"),
        ({"text": ""}, ValueError, "text"),
        ({"voice_id": ""}, ValueError, "voice_id"),
        ({"max_jobs": 9}, ValueError, "max_jobs"),
    ],
)
async def test_unknown_model_still_gets_type_and_required_checks(
    api: AsyncSpeechAPI,
    router: respx.MockRouter,
    kwargs: dict[str, Any],
    error: type[Exception],
    field: str,
) -> None:
    """For an unknown model only required, type and model-independent checks apply."""
    text, voice_id, options = _call(kwargs)
    with pytest.raises(error, match=field):
        await api.create(text, voice_id, model="speech-3.0-future", **options)  # type: ignore[arg-type]
    assert len(router.calls) == 0


async def test_closed_client_refuses_create(router: respx.MockRouter, wire: Any) -> None:
    """create() on a closed client is a RuntimeError, and nothing is sent."""
    api = AsyncSpeechAPI(wire.TOKEN)
    await api.aclose()
    with pytest.raises(RuntimeError, match="closed"):
        await api.create(TEXT, VOICE)
    assert len(router.calls) == 0
