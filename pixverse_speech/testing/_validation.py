"""The checks POST ``speech/create`` makes, per the upstream notes, each a 400 when it fails."""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from typing import Any

import attrs

from ._catalog import ELEVENLABS, EMOTIONS, MINIMAX, MODELS, VOICES, ModelInfo
from ._wire import ApiError

__all__ = ["CreateParams", "validate_create"]

_MINIMAX_ONLY = ("volume", "pitch", "emotion")
_ELEVEN_ONLY = ("stability", "similarity_boost")
_MULTILINGUAL_V2_ONLY = ("style", "use_speaker_boost")
_REPLY_MAX = 1024
_INT_RE = re.compile(r"[+-]?\d+")


@attrs.frozen
class CreateParams:
    text: str
    model: ModelInfo
    voice_id: str
    email: str | None
    language_code: str | None
    speed: float | None
    settings: dict[str, Any]
    reply_url: str | None
    reply_ref: str | None
    max_jobs: int | None


def _bad(message: str) -> ApiError:
    return ApiError(400, message)


def _present(fields: Mapping[str, Any], name: str) -> bool:
    value = fields.get(name)
    return value is not None and value != ""


def _string(fields: Mapping[str, Any], name: str) -> str | None:
    if not _present(fields, name):
        return None
    value = fields[name]
    if not isinstance(value, str):
        raise _bad(f"Parameter {name} must be a string")
    return value


def _number(fields: Mapping[str, Any], name: str) -> float | None:
    if not _present(fields, name):
        return None
    value = fields[name]
    if isinstance(value, bool):
        raise _bad(f"Parameter {name} must be a number")
    if isinstance(value, (int, float)):
        number = float(value)
    elif isinstance(value, str):
        try:
            number = float(value.strip())
        except ValueError:
            raise _bad(f"Parameter {name} must be a number") from None
    else:
        raise _bad(f"Parameter {name} must be a number")
    if not math.isfinite(number):
        raise _bad(f"Parameter {name} must be a finite number")
    return number


def _integer(fields: Mapping[str, Any], name: str) -> int | None:
    if not _present(fields, name):
        return None
    value = fields[name]
    if isinstance(value, bool):
        raise _bad(f"Parameter {name} must be an integer")
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and _INT_RE.fullmatch(value.strip()):
        return int(value.strip())
    raise _bad(f"Parameter {name} must be an integer")


def _boolean(fields: Mapping[str, Any], name: str) -> bool | None:
    if not _present(fields, name):
        return None
    value = fields[name]
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in ("true", "false", "1", "0"):
        return value.strip().lower() in ("true", "1")
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    raise _bad(f"Parameter {name} must be a boolean")


def _in_range(name: str, value: float | None, low: float, high: float) -> None:
    if value is not None and not low <= value <= high:
        raise _bad(f"Parameter {name} must be between {low:g} and {high:g}, got {value:g}")


def validate_create(fields: Mapping[str, Any], *, check_voices: bool) -> CreateParams:
    """The create request's parameters, or an :class:`ApiError` (400) naming the first problem."""
    text = _string(fields, "text")
    if text is None or not text.strip():
        raise _bad("Parameter text is required")
    voice_id = _string(fields, "voice_id")
    if voice_id is None or not voice_id.strip():
        raise _bad("Parameter voice_id is required")
    model_name = _string(fields, "model") or "speech-2.8-hd"
    model = MODELS.get(model_name)
    if model is None:
        raise _bad(f"Unknown model {model_name}, supported models: {', '.join(MODELS)}")
    if len(text) > model.max_characters:
        raise _bad(
            f"Parameter text is {len(text)} characters long, model {model.model} accepts up to "
            f"{model.max_characters}"
        )
    if check_voices:
        voice = VOICES.get(voice_id)
        if voice is None:
            raise _bad(f"Unknown voice_id {voice_id}, see GET speech/voices")
        if voice.provider != model.provider:
            raise _bad(
                f"Voice {voice_id} is a {voice.provider} voice, model {model.model} needs a "
                f"{model.provider} voice"
            )

    # Settings sent to the wrong provider family.
    if model.provider == ELEVENLABS:
        for name in _MINIMAX_ONLY:
            if _present(fields, name):
                raise _bad(f"Parameter {name} is supported by MiniMax models only")
    if model.provider == MINIMAX:
        for name in (*_ELEVEN_ONLY, *_MULTILINGUAL_V2_ONLY):
            if _present(fields, name):
                raise _bad(f"Parameter {name} is supported by ElevenLabs models only")
    if model.model != "eleven-multilingual-v2":
        for name in _MULTILINGUAL_V2_ONLY:
            if _present(fields, name):
                raise _bad(f"Parameter {name} is supported by eleven-multilingual-v2 only")

    settings: dict[str, Any] = {}
    volume = _number(fields, "volume")
    _in_range("volume", volume, 0, 10)
    pitch = _integer(fields, "pitch")
    _in_range("pitch", pitch, -12, 12)
    emotion = _string(fields, "emotion")
    if emotion is not None and emotion not in EMOTIONS:
        raise _bad(f"Parameter emotion must be one of {', '.join(EMOTIONS)}")
    speed = _number(fields, "speed")
    _in_range("speed", speed, *model.speed_range)
    for name in ("stability", "similarity_boost", "style"):
        value = _number(fields, name)
        _in_range(name, value, 0, 1)
        if value is not None:
            settings[name] = value
    boost = _boolean(fields, "use_speaker_boost")
    for name, setting in (
        ("volume", volume),
        ("pitch", pitch),
        ("emotion", emotion),
        ("use_speaker_boost", boost),
    ):
        if setting is not None:
            settings[name] = setting

    language_code = _string(fields, "language_code")
    if language_code is not None:
        if model.model == "eleven-v3":
            raise _bad("Parameter language_code is not supported by model eleven-v3")
        if language_code not in model.supported_language_codes:
            raise _bad(
                f"Parameter language_code {language_code} is not supported by model {model.model}"
            )

    reply_url = _string(fields, "replyUrl")
    reply_ref = _string(fields, "replyRef")
    for name, reply in (("replyUrl", reply_url), ("replyRef", reply_ref)):
        if reply is not None and len(reply) > _REPLY_MAX:
            raise _bad(f"Parameter {name} must be at most {_REPLY_MAX} characters")
    max_jobs = _integer(fields, "maxJobs")
    _in_range("maxJobs", max_jobs, 1, 8)

    return CreateParams(
        text=text,
        model=model,
        voice_id=voice_id,
        email=_string(fields, "email"),
        language_code=language_code,
        speed=speed,
        settings=settings,
        reply_url=reply_url,
        reply_ref=reply_ref,
        max_jobs=max_jobs,
    )
