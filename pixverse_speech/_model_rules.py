"""What each speech model accepts: the one table that create requests are checked against.

Per model: its provider family, the most characters of text, the voice settings it takes with
their ranges, and whether it takes ``language_code``.  A model missing from the table (one the API
added after this library was written) is passed through: its settings get only the type checks of
:data:`SETTING_KINDS`, never a range or family check.

The facts come from the API's documentation of POST ``speech/create``; GET ``speech/models`` is the
live source for limits and languages.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Literal

import attrs

__all__ = [
    "DEFAULT_MODEL",
    "EMOTIONS",
    "MODELS",
    "SETTING_KINDS",
    "Choice",
    "Flag",
    "ModelRules",
    "NumberRange",
    "Setting",
    "accepting_models",
]

#: The model the API uses when a request names none.
DEFAULT_MODEL = "speech-2.8-hd"

#: The values of MiniMax's ``emotion``.
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


@attrs.frozen
class NumberRange:
    """A number from ``low`` to ``high``, both included; an integer when ``integer``."""

    low: float
    high: float
    integer: bool = False


@attrs.frozen
class Choice:
    """One of a fixed list of strings."""

    values: tuple[str, ...]


@attrs.frozen
class Flag:
    """A boolean."""


Setting = NumberRange | Choice | Flag

#: What type every setting has, whatever the model: checked even for models not in the table.
SETTING_KINDS: Mapping[str, Literal["number", "integer", "string", "bool"]] = MappingProxyType(
    {
        "speed": "number",
        "volume": "number",
        "pitch": "integer",
        "emotion": "string",
        "stability": "number",
        "similarity_boost": "number",
        "style": "number",
        "use_speaker_boost": "bool",
    }
)


@attrs.frozen(kw_only=True)
class ModelRules:
    """What one model accepts."""

    model: str
    family: str
    max_characters: int
    settings: Mapping[str, Setting]
    language_code: bool = True


_MINIMAX: Mapping[str, Setting] = MappingProxyType(
    {
        "speed": NumberRange(0.5, 2.0),
        "volume": NumberRange(0, 10),
        "pitch": NumberRange(-12, 12, integer=True),
        "emotion": Choice(EMOTIONS),
    }
)
_ELEVENLABS: Mapping[str, Setting] = MappingProxyType(
    {
        "speed": NumberRange(0.7, 1.2),
        "stability": NumberRange(0, 1),
        "similarity_boost": NumberRange(0, 1),
    }
)
_ELEVENLABS_MULTILINGUAL: Mapping[str, Setting] = MappingProxyType(
    {
        **_ELEVENLABS,
        "style": NumberRange(0, 1),
        "use_speaker_boost": Flag(),
    }
)

MODELS: Mapping[str, ModelRules] = MappingProxyType(
    {
        rules.model: rules
        for rules in (
            ModelRules(
                model="speech-2.8-hd", family="MiniMax", max_characters=10_000, settings=_MINIMAX
            ),
            ModelRules(
                model="speech-2.8-turbo",
                family="MiniMax",
                max_characters=10_000,
                settings=_MINIMAX,
            ),
            ModelRules(
                model="eleven-multilingual-v2",
                family="ElevenLabs",
                max_characters=10_000,
                settings=_ELEVENLABS_MULTILINGUAL,
            ),
            ModelRules(
                model="eleven-v3",
                family="ElevenLabs",
                max_characters=5_000,
                settings=_ELEVENLABS,
                language_code=False,
            ),
            ModelRules(
                model="eleven-turbo-v2.5",
                family="ElevenLabs",
                max_characters=40_000,
                settings=_ELEVENLABS,
            ),
        )
    }
)


def accepting_models(setting: str) -> tuple[str, ...]:
    """The known models that accept ``setting``, in table order."""
    return tuple(rules.model for rules in MODELS.values() if setting in rules.settings)
