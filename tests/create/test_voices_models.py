"""GET speech/voices and GET speech/models, decoded into attrs classes."""

from __future__ import annotations

from typing import Any

import attrs
import httpx
import pytest
import respx

import pixverse_speech
from pixverse_speech import (
    AsyncSpeechAPI,
    BadRequestError,
    CreditFormula,
    ModelInfo,
    ProviderGroup,
    ResponseDecodeError,
    SpeechModels,
    Voice,
)

pytestmark = pytest.mark.anyio

VOICES = "pixverse/speech/voices"
MODELS = "pixverse/speech/models"

VOICE = {
    "voice_id": "minimax_english_radiant_girl",
    "provider_voice_id": "English_radiant_girl",
    "display_name": "Radiant Girl",
    "provider": "minimax",
    "gender": "female",
    "age": "young",
    "accent": "american",
    "style_tags": ["bright", "upbeat"],
    "preview_url": "https://example.com/x.mp3",  # not modelled: ignored
}

MODELS_BODY = {
    "default_model": "speech-2.8-hd",
    "provider_groups": [
        {
            "provider": "MiniMax",
            "models": [
                {
                    "model": "speech-2.8-hd",
                    "display_name": "Speech 2.8 HD",
                    "provider": "MiniMax",
                    "max_characters": 10000,
                    "supported_language_codes": ["en", "de"],
                    "credit_formula": {
                        "unit_characters": 1000,
                        "unit_credits": 1,
                        "round_up": True,
                    },
                    "emotions": ["auto", "happy"],
                }
            ],
        },
        {
            "provider": "ElevenLabs",
            "models": [
                {
                    "model": "eleven-v3",
                    "display_name": "Eleven v3",
                    "provider": "ElevenLabs",
                    "max_characters": 5000,
                    "supported_language_codes": [],
                    "credit_formula": {
                        "unit_characters": 500,
                        "unit_credits": 1.5,
                        "round_up": False,
                    },
                    "something_new": {"x": 1},
                }
            ],
        },
    ],
}


async def test_voices_are_decoded(api: AsyncSpeechAPI, router: respx.MockRouter) -> None:
    """Each voice becomes a Voice; unknown fields are ignored."""
    route = router.get(VOICES).mock(return_value=httpx.Response(200, json={"voices": [VOICE]}))
    voices = await api.voices()
    assert voices == [
        Voice(
            voice_id="minimax_english_radiant_girl",
            provider_voice_id="English_radiant_girl",
            display_name="Radiant Girl",
            provider="minimax",
            gender="female",
            age="young",
            accent="american",
            style_tags=("bright", "upbeat"),
        )
    ]
    assert dict(route.calls.last.request.url.params) == {}


async def test_voices_query_parameters(router: respx.MockRouter, wire: Any) -> None:
    """model, language and email go as query parameters; email defaults to the client's."""
    route = router.get(VOICES).mock(return_value=httpx.Response(200, json={"voices": []}))
    async with AsyncSpeechAPI(wire.TOKEN, email="default@example.com") as api:
        assert await api.voices(model="eleven-v3", language="de") == []
        assert dict(route.calls.last.request.url.params) == {
            "model": "eleven-v3",
            "language": "de",
            "email": "default@example.com",
        }
        await api.voices(email="other@example.com")
        assert dict(route.calls.last.request.url.params) == {"email": "other@example.com"}


async def test_voice_with_a_numeric_age_and_missing_fields(
    api: AsyncSpeechAPI, router: respx.MockRouter
) -> None:
    """A number for age is kept as text; absent fields are None or empty."""
    router.get(VOICES).mock(
        return_value=httpx.Response(200, json={"voices": [{"voice_id": "v", "age": 30}]})
    )
    assert await api.voices() == [Voice(voice_id="v", age="30")]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"voices": "all"}, "voices"),
        ({"voices": {"voice_id": "v"}}, "voices"),
        ([VOICE], None),
    ],
)
async def test_voices_of_wrong_shape_are_a_decode_error(
    api: AsyncSpeechAPI, router: respx.MockRouter, body: Any, field: str | None
) -> None:
    """A body that is not an object, or whose voices is not a list, is a ResponseDecodeError."""
    router.get(VOICES).mock(return_value=httpx.Response(200, json=body))
    with pytest.raises(ResponseDecodeError) as info:
        await api.voices()
    assert info.value.field == field
    assert info.value.job_may_exist is None


@pytest.mark.parametrize(
    ("kwargs", "error", "field"),
    [
        ({"model": ""}, ValueError, "model"),
        ({"model": 3}, TypeError, "model"),
        ({"language": " "}, ValueError, "language"),
        ({"email": ""}, ValueError, "email"),
    ],
)
async def test_bad_voices_argument_is_refused_before_any_request(
    api: AsyncSpeechAPI,
    router: respx.MockRouter,
    kwargs: dict[str, Any],
    error: type[Exception],
    field: str,
) -> None:
    """voices() checks its arguments before any request."""
    with pytest.raises(error, match=field):
        await api.voices(**kwargs)
    assert len(router.calls) == 0


async def test_unknown_model_for_voices_is_a_bad_request(
    api: AsyncSpeechAPI, router: respx.MockRouter, wire: Any
) -> None:
    """The API's 400 for an unknown model is a BadRequestError."""
    route = router.get(VOICES).mock(return_value=wire.error(400, "Unknown model"))
    with pytest.raises(BadRequestError, match="Unknown model"):
        await api.voices(model="nope")
    assert route.call_count == 1


async def test_models_are_decoded(api: AsyncSpeechAPI, router: respx.MockRouter) -> None:
    """GET speech/models becomes SpeechModels with groups, limits and credit formulas."""
    router.get(MODELS).mock(return_value=httpx.Response(200, json=MODELS_BODY))
    models = await api.models()
    assert isinstance(models, SpeechModels)
    assert models.default_model == "speech-2.8-hd"
    assert [group.provider for group in models.provider_groups] == ["MiniMax", "ElevenLabs"]
    hd = models.provider_groups[0].models[0]
    assert hd == ModelInfo(
        model="speech-2.8-hd",
        display_name="Speech 2.8 HD",
        provider="MiniMax",
        max_characters=10000,
        supported_language_codes=("en", "de"),
        credit_formula=CreditFormula(unit_characters=1000, unit_credits=1.0, round_up=True),
        emotions=("auto", "happy"),
    )
    v3 = models.get("eleven-v3")
    assert v3 is not None
    assert v3.emotions == ()
    assert v3.max_characters == 5000
    assert v3.credit_formula == CreditFormula(unit_characters=500, unit_credits=1.5, round_up=False)
    assert [m.model for m in models.models] == ["speech-2.8-hd", "eleven-v3"]
    assert models.get("nope") is None
    assert isinstance(models.provider_groups[1], ProviderGroup)


async def test_empty_models_answer(api: AsyncSpeechAPI, router: respx.MockRouter) -> None:
    """An answer without groups decodes to an empty SpeechModels."""
    router.get(MODELS).mock(return_value=httpx.Response(200, json={}))
    assert await api.models() == SpeechModels()


@pytest.mark.parametrize(
    ("voice", "expected", "invalid"),
    [
        ({"voice_id": "v", "style_tags": "calm"}, Voice(voice_id="v"), {"style_tags": "calm"}),
        (
            {"voice_id": "v", "style_tags": ["calm", 3]},
            Voice(voice_id="v", style_tags=("calm",)),
            {"style_tags[1]": 3},
        ),
        ({"voice_id": "v", "gender": True}, Voice(voice_id="v"), {"gender": True}),
    ],
)
async def test_voice_field_of_wrong_type_is_dropped_and_kept(
    api: AsyncSpeechAPI,
    router: respx.MockRouter,
    voice: dict[str, Any],
    expected: Voice,
    invalid: dict[str, object],
) -> None:
    """A voice's non-essential field (or list item) of the wrong type is dropped, kept aside."""
    router.get(VOICES).mock(return_value=httpx.Response(200, json={"voices": [voice]}))
    assert await api.voices() == [attrs.evolve(expected, invalid_fields=invalid)]


@pytest.mark.parametrize("bad", ["v2", {"voice_id": 5}, {"display_name": "no id"}])
async def test_voice_without_a_usable_id_is_skipped(
    api: AsyncSpeechAPI, router: respx.MockRouter, bad: object
) -> None:
    """A voice without a string voice_id is left out; the others are returned."""
    router.get(VOICES).mock(return_value=httpx.Response(200, json={"voices": [VOICE, bad]}))
    voices = await api.voices()
    assert [voice.voice_id for voice in voices] == [VOICE["voice_id"]]


async def test_models_of_wrong_shape_are_a_decode_error(
    api: AsyncSpeechAPI, router: respx.MockRouter
) -> None:
    """A provider_groups that is not a list is a ResponseDecodeError naming it."""
    router.get(MODELS).mock(
        return_value=httpx.Response(200, json={**MODELS_BODY, "provider_groups": {"MiniMax": []}})
    )
    with pytest.raises(ResponseDecodeError) as info:
        await api.models()
    assert info.value.field == "provider_groups"


@pytest.mark.parametrize(
    ("patch", "field"),
    [
        ({"default_model": 1}, "default_model"),
        ({"provider_groups": [{"models": [{"max_characters": "10k"}]}]}, "max_characters"),
        ({"provider_groups": [{"models": [{"max_characters": 1.5}]}]}, "max_characters"),
        ({"provider_groups": [{"models": [{"credit_formula": [1]}]}]}, "credit_formula"),
        (
            {"provider_groups": [{"models": [{"credit_formula": {"round_up": "yes"}}]}]},
            "credit_formula.round_up",
        ),
        ({"provider_groups": [{"models": [{"emotions": ["a", None]}]}]}, "emotions[1]"),
        ({"provider_groups": [{}, {"models": [3]}]}, "provider_groups[1].models[0]"),
    ],
)
async def test_models_field_of_wrong_type_is_dropped_and_kept(
    api: AsyncSpeechAPI, router: respx.MockRouter, patch: dict[str, Any], field: str
) -> None:
    """A field of the wrong type anywhere in the tree is dropped and kept where it was."""
    router.get(MODELS).mock(return_value=httpx.Response(200, json={**MODELS_BODY, **patch}))
    models = await api.models()
    holders: list[Any] = [models, *models.provider_groups, *models.models]
    holders += [m.credit_formula for m in models.models if m.credit_formula is not None]
    kept = [key for holder in holders for key in holder.invalid_fields]
    assert [key for key in kept if key.split(".")[-1] == field.split(".")[-1]], kept


async def test_models_request_carries_the_token(
    api: AsyncSpeechAPI, router: respx.MockRouter, wire: Any
) -> None:
    """models() is an ordinary API GET, with the token."""
    route = router.get(MODELS).mock(return_value=httpx.Response(200, json=MODELS_BODY))
    await api.models()
    assert route.calls.last.request.headers["authorization"] == f"Bearer {wire.TOKEN}"


def test_new_names_are_public_and_sorted() -> None:
    """The names this issue adds are exported and __all__ stays sorted; each class reports the
    package as its module (issue 9: was a private submodule, now 'pixverse_speech')."""
    added = {
        "AudioNotAvailableError",
        "CreditFormula",
        "DownloadError",
        "DownloadSizeError",
        "GenerationFailedError",
        "ModelInfo",
        "ProviderGroup",
        "SpeechModels",
        "Voice",
    }
    assert added <= set(pixverse_speech.__all__)
    assert pixverse_speech.__all__ == sorted(pixverse_speech.__all__)
    for name in added:
        assert getattr(pixverse_speech, name).__module__ == "pixverse_speech"
