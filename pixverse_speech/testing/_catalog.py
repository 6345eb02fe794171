"""The fake's static data: the five documented models and a handful of voices.

Model names, families, character limits and the MiniMax emotions come from the upstream notes.
Display names, language lists, credit formulas and the voices themselves are invented but shaped
like the documented responses.
"""

from __future__ import annotations

import math
from typing import Any

import attrs

__all__ = [
    "DEFAULT_MODEL",
    "DEFAULT_VOICE_ID",
    "ELEVENLABS",
    "EMOTIONS",
    "MINIMAX",
    "MODELS",
    "VOICES",
    "ModelInfo",
    "VoiceInfo",
]

MINIMAX = "minimax"
ELEVENLABS = "elevenlabs"

DEFAULT_MODEL = "speech-2.8-hd"
DEFAULT_VOICE_ID = "minimax_english_radiant_girl"

EMOTIONS = (
    "auto",
    "happy",
    "sad",
    "angry",
    "fearful",
    "disgusted",
    "surprised",
    "neutral",
    "calm",
)

_MINIMAX_LANGUAGES = (
    "en", "zh", "yue", "ja", "ko", "es", "fr", "de", "pt", "it", "ru", "ar", "tr", "nl", "uk",
    "vi", "id", "th", "pl", "ro", "el", "cs", "fi", "hi",
)  # fmt: skip
_ELEVEN_LANGUAGES = (
    "en", "ja", "zh", "de", "hi", "fr", "ko", "pt", "it", "es", "id", "nl", "tr", "fil", "pl",
    "sv", "bg", "ro", "ar", "cs", "el", "fi", "hr", "ms", "sk", "da", "ta", "uk", "ru",
)  # fmt: skip


@attrs.frozen
class ModelInfo:
    """One speech model as GET ``speech/models`` describes it."""

    model: str
    display_name: str
    provider: str
    max_characters: int
    supported_language_codes: tuple[str, ...]
    unit_characters: int
    unit_credits: float
    speed_range: tuple[float, float]
    emotions: tuple[str, ...] | None = None

    def credits_for(self, text: str) -> float:
        """What generating ``text`` costs, by the model's credit formula (rounding up)."""
        units = max(1, math.ceil(len(text) / self.unit_characters))
        credits = units * self.unit_credits
        return int(credits) if float(credits).is_integer() else credits

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "model": self.model,
            "display_name": self.display_name,
            "provider": self.provider,
            "max_characters": self.max_characters,
            "supported_language_codes": list(self.supported_language_codes),
            "credit_formula": {
                "unit_characters": self.unit_characters,
                "unit_credits": self.unit_credits,
                "round_up": True,
            },
        }
        if self.emotions is not None:
            out["emotions"] = list(self.emotions)
        return out


@attrs.frozen
class VoiceInfo:
    """One voice as GET ``speech/voices`` lists it."""

    voice_id: str
    provider_voice_id: str
    display_name: str
    provider: str
    gender: str
    age: str
    accent: str
    style_tags: tuple[str, ...]
    language: str

    def to_json(self) -> dict[str, Any]:
        return {
            "voice_id": self.voice_id,
            "provider_voice_id": self.provider_voice_id,
            "display_name": self.display_name,
            "provider": self.provider,
            "gender": self.gender,
            "age": self.age,
            "accent": self.accent,
            "style_tags": list(self.style_tags),
            "language": self.language,
        }


_MINIMAX_SPEED = (0.5, 2.0)
_ELEVEN_SPEED = (0.7, 1.2)

MODELS: dict[str, ModelInfo] = {
    m.model: m
    for m in (
        ModelInfo(
            "speech-2.8-hd", "Speech 2.8 HD", MINIMAX, 10_000, _MINIMAX_LANGUAGES, 500, 1,
            _MINIMAX_SPEED, EMOTIONS,
        ),
        ModelInfo(
            "speech-2.8-turbo", "Speech 2.8 Turbo", MINIMAX, 10_000, _MINIMAX_LANGUAGES, 1000, 1,
            _MINIMAX_SPEED, EMOTIONS,
        ),
        ModelInfo(
            "eleven-multilingual-v2", "Eleven Multilingual v2", ELEVENLABS, 10_000,
            _ELEVEN_LANGUAGES, 500, 1, _ELEVEN_SPEED,
        ),
        ModelInfo("eleven-v3", "Eleven v3", ELEVENLABS, 5_000, (), 250, 1, _ELEVEN_SPEED),
        ModelInfo(
            "eleven-turbo-v2.5", "Eleven Turbo v2.5", ELEVENLABS, 40_000, _ELEVEN_LANGUAGES, 1000,
            0.5, _ELEVEN_SPEED,
        ),
    )
}  # fmt: skip

VOICES: dict[str, VoiceInfo] = {
    v.voice_id: v
    for v in (
        VoiceInfo(
            "minimax_english_radiant_girl", "English_radiant_girl", "Radiant Girl", MINIMAX,
            "female", "young", "american", ("bright", "friendly"), "en",
        ),
        VoiceInfo(
            "minimax_english_deep_voice_man", "English_DeepVoiceMan", "Deep Voice Man", MINIMAX,
            "male", "middle_aged", "american", ("deep", "calm"), "en",
        ),
        VoiceInfo(
            "minimax_english_wise_woman", "English_WiseWoman", "Wise Woman", MINIMAX,
            "female", "old", "british", ("warm", "narration"), "en",
        ),
        VoiceInfo(
            "minimax_chinese_gentle_youth", "Chinese (Mandarin)_Gentle_Youth", "Gentle Youth",
            MINIMAX, "male", "young", "mandarin", ("gentle",), "zh",
        ),
        VoiceInfo(
            "minimax_japanese_calm_lady", "Japanese_CalmLady", "Calm Lady", MINIMAX,
            "female", "middle_aged", "tokyo", ("calm",), "ja",
        ),
        VoiceInfo(
            "elevenlabs_rachel", "21m00Tcm4TlvDq8ikWAM", "Rachel", ELEVENLABS,
            "female", "young", "american", ("calm", "narration"), "en",
        ),
        VoiceInfo(
            "elevenlabs_adam", "pNInz6obpgDQGcFmaJgB", "Adam", ELEVENLABS,
            "male", "middle_aged", "american", ("deep", "narration"), "en",
        ),
        VoiceInfo(
            "elevenlabs_charlotte", "XB0fDUnXU5powFXDhCwa", "Charlotte", ELEVENLABS,
            "female", "young", "swedish", ("seductive", "characters"), "sv",
        ),
    )
}  # fmt: skip
