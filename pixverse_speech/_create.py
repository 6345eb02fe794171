"""POST ``speech/create``: checking a request before it is sent, encoding it, reading the answer.

Every argument is checked before any request, against the model table in ``_model_rules.py``:
a bad one is a ``TypeError`` (wrong type) or ``ValueError`` (wrong value) naming the argument.
The request goes as multipart form data, like the API's own examples: every value is text, numbers
in their shortest form and booleans as ``"true"``/``"false"``; wire names are the API's
(``replyUrl``, ``replyRef``, ``maxJobs``; the rest as in Python).
"""

from __future__ import annotations

import logging
import math
import numbers
from collections.abc import Callable
from urllib.parse import urlsplit

import attrs

from ._checks import as_float, check_text, shown
from ._converter import DriftLog, structure
from ._exceptions import ResponseDecodeError
from ._model_rules import (
    DEFAULT_MODEL,
    MODELS,
    SETTING_KINDS,
    Choice,
    Flag,
    ModelRules,
    NumberRange,
    accepting_models,
)
from ._models import Speech

__all__ = [
    "CREATE_PATH",
    "CreateRequest",
    "build_create_request",
    "decode_created",
]

logger = logging.getLogger("pixverse_speech")

CREATE_PATH = "pixverse/speech/create"

#: The most characters of ``replyUrl`` and ``replyRef``.
MAX_REPLY_LENGTH = 1024
#: The range of ``maxJobs``.
MAX_JOBS_RANGE = (1, 8)


@attrs.frozen
class CreateRequest:
    """A checked create request: its form fields (wire name, text value) in sending order.

    ``model`` is the model it was checked against (the API's default when none was named).
    """

    fields: tuple[tuple[str, str], ...]
    model: str

    def form(self) -> dict[str, tuple[None, str]]:
        """The fields as httpx ``files=`` entries without a file name: plain multipart fields."""
        return {name: (None, value) for name, value in self.fields}


def _number_text(value: float) -> str:
    """A number as form text: ``1`` for 1.0, the shortest round-tripping form otherwise."""
    if isinstance(value, int):
        return str(value)
    return str(int(value)) if value.is_integer() else repr(value)


#: Far beyond any setting's range; larger integers are refused before they are formatted.
_LARGEST_SETTING = 10**18


def _checked_number(name: str, value: object, *, integer: bool) -> int | float:
    # bool is an int in Python, never a volume or a pitch here.
    if integer:
        if isinstance(value, bool) or not isinstance(value, numbers.Integral):
            raise TypeError(f"{name} must be an integer, got {type(value).__name__}")
        if abs(int(value)) > _LARGEST_SETTING:
            raise ValueError(f"{name} is out of range: {shown(value)}")
        return int(value)
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a number, got {type(value).__name__}")
    number = as_float(name, value)  # type: ignore[arg-type]  # numbers.Real converts
    if not math.isfinite(number):
        raise ValueError(f"{name} must be a finite number, got {shown(value)}")
    return int(value) if isinstance(value, numbers.Integral) else number


def _setting(name: str, value: object, rules: ModelRules | None, model: str) -> str:
    """One voice setting as form text, checked by type and, for a known model, by its rules."""
    kind = SETTING_KINDS[name]
    number: float | None = None
    if kind == "bool":
        if not isinstance(value, bool):
            raise TypeError(f"{name} must be a bool, got {type(value).__name__}")
        text = "true" if value else "false"
    elif kind == "string":
        text = check_text(name, value)
    else:
        number = _checked_number(name, value, integer=kind == "integer")
        text = _number_text(number)
    if rules is None:
        return text
    rule = rules.settings.get(name)
    if rule is None:
        raise ValueError(
            f"{name} is not accepted by model {model!r} ({rules.family}); "
            f"it is accepted by {_describe(accepting_models(name))}"
        )
    if isinstance(rule, NumberRange):
        assert number is not None
        if not rule.low <= number <= rule.high:
            raise ValueError(
                f"{name} must be between {rule.low:g} and {rule.high:g} for model {model!r}, "
                f"got {shown(value)}"
            )
    elif isinstance(rule, Choice):
        if value not in rule.values:
            raise ValueError(f"{name} must be one of {', '.join(rule.values)}, got {shown(value)}")
    else:
        assert isinstance(rule, Flag)
    return text


def _describe(models: tuple[str, ...]) -> str:
    """``MiniMax (speech-2.8-hd, speech-2.8-turbo)``: models grouped by family."""
    families: dict[str, list[str]] = {}
    for model in models:
        families.setdefault(MODELS[model].family, []).append(model)
    return " and ".join(f"{family} ({', '.join(names)})" for family, names in families.items())


def _reply(name: str, value: object) -> str:
    text = check_text(name, value)
    if len(text) > MAX_REPLY_LENGTH:
        raise ValueError(
            f"{name} must be at most {MAX_REPLY_LENGTH} characters, got {len(text)} characters"
        )
    return text


def build_create_request(
    text: object,
    voice_id: object,
    *,
    model: object = None,
    email: object = None,
    language_code: object = None,
    speed: object = None,
    volume: object = None,
    pitch: object = None,
    emotion: object = None,
    stability: object = None,
    similarity_boost: object = None,
    style: object = None,
    use_speaker_boost: object = None,
    reply_url: object = None,
    reply_ref: object = None,
    max_jobs: object = None,
) -> CreateRequest:
    """Check every argument of a create call and encode it, or raise naming the bad argument.

    ``None`` leaves a field out.  ``model=None`` is checked as the API's default model
    (``speech-2.8-hd``) and left out, so the API applies its default.  Text length counts Python
    characters (code points).
    """
    fields: list[tuple[str, str]] = [
        ("text", check_text("text", text)),
        ("voice_id", check_text("voice_id", voice_id)),
    ]
    if model is None:
        name = DEFAULT_MODEL
    else:
        name = check_text("model", model)
        fields.append(("model", name))
    rules = MODELS.get(name)
    if email is not None:
        fields.append(("email", check_text("email", email)))
    if language_code is not None:
        code = check_text("language_code", language_code)
        if rules is not None and not rules.language_code:
            raise ValueError(f"language_code is not accepted by model {name!r}")
        fields.append(("language_code", code))
    settings = {
        "speed": speed,
        "volume": volume,
        "pitch": pitch,
        "emotion": emotion,
        "stability": stability,
        "similarity_boost": similarity_boost,
        "style": style,
        "use_speaker_boost": use_speaker_boost,
    }
    for setting, value in settings.items():
        if value is not None:
            fields.append((setting, _setting(setting, value, rules, name)))
    if rules is not None and len(fields[0][1]) > rules.max_characters:
        raise ValueError(
            f"text is {len(fields[0][1]):,} characters long; model {name!r} accepts at most "
            f"{rules.max_characters:,}"
        )
    if reply_url is not None:
        url = _reply("reply_url", reply_url)
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ValueError(f"reply_url must be an absolute http(s) URL, got {url!r}")
        fields.append(("replyUrl", url))
    if reply_ref is not None:
        fields.append(("replyRef", _reply("reply_ref", reply_ref)))
    if max_jobs is not None:
        jobs = _checked_number("max_jobs", max_jobs, integer=True)
        low, high = MAX_JOBS_RANGE
        if not low <= jobs <= high:
            raise ValueError(f"max_jobs must be between {low} and {high}, got {shown(max_jobs)}")
        fields.append(("maxJobs", str(jobs)))
    return CreateRequest(tuple(fields), name)


def _masked(text: str, redact: Callable[[str], str] | None) -> str:
    return redact(text) if redact is not None else text


def decode_created(
    body: object,
    *,
    redact: Callable[[str], str] | None = None,
    log: DriftLog | None = None,
) -> Speech:
    """The job a create answer describes; it must carry at least a non-blank ``audio_id``.

    The answer's shape beyond ``audio_id`` is undocumented: a field of an unexpected type is logged
    and dropped rather than losing the id of a job that exists (and is billed).
    """
    audio_id = body.get("audio_id") if isinstance(body, dict) else None
    if not isinstance(audio_id, str) or not audio_id.strip():
        error = ResponseDecodeError(
            _masked(
                "POST speech/create answered without a usable audio_id: "
                + shown(body, 120, redact),
                redact,
            ),
            field="audio_id",
        )
        error.job_may_exist = True  # the API answered 2xx: it most likely created the job
        raise error
    try:
        return structure(body, Speech, audio_id=audio_id, redact=redact, log=log)
    except ResponseDecodeError as exc:
        logger.warning(
            "POST speech/create created %s; ignoring the rest of its answer: %s", audio_id, exc
        )
        return Speech(audio_id=audio_id)
