"""The API's records, as frozen attrs classes named like the wire.

A job needs its ``audio_id`` and a voice its ``voice_id``; every other field is optional (``None``
when the API left it out or sent a value of an unexpected type), so a record from either endpoint,
or from a future version of the API with fields added, dropped or retyped, decodes the same way.
What decoding had to drop stays on the record in ``invalid_fields``.  Decoding lives in
``_converter.py``.
"""

from __future__ import annotations

import enum
from collections.abc import Iterator, Mapping
from datetime import datetime
from typing import Any, TypeVar

import attrs

__all__ = [
    "AudioStatus",
    "CreditFormula",
    "ModelInfo",
    "ProviderGroup",
    "Speech",
    "SpeechModels",
    "SpeechPage",
    "Voice",
    "VoiceList",
]


class AudioStatus(enum.IntEnum):
    """The documented values of ``audio_status``."""

    COMPLETED = 1
    QUEUED = 5
    FAILED = 8
    GENERATING = 10

    @property
    def is_final(self) -> bool:
        """Whether the job can change no more (COMPLETED or FAILED)."""
        return self in (AudioStatus.COMPLETED, AudioStatus.FAILED)


_BY_NAME = {status.name: status for status in AudioStatus}


class _ReadOnlyMapping(Mapping[str, object]):
    """A read-only, picklable ``{field: value as the API sent it}`` (``MappingProxyType`` is not
    picklable, and a record in an exception must survive pickling)."""

    __slots__ = ("_data",)

    def __init__(self, data: Mapping[str, object] | None = None) -> None:
        self._data: dict[str, object] = dict(data) if data else {}

    def __getitem__(self, key: str) -> object:
        return self._data[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._data)

    def __len__(self) -> int:
        return len(self._data)

    def __repr__(self) -> str:
        return repr(self._data)

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (self._data,))


#: The ``invalid_fields`` of a record that decoded cleanly (one shared, immutable instance).
_NO_INVALID_FIELDS: Mapping[str, object] = _ReadOnlyMapping()


_C = TypeVar("_C", bound=type)


def _class_defaults(cls: _C) -> _C:
    """Make every defaulted field's default a class attribute too.

    A record the converter's fast path builds (see ``_converter.py``) gets the JSON object's own
    fields as its ``__dict__``; an absent field then reads its default from the class, as with
    any Python class.  The defaults are all immutable.
    """
    for field in attrs.fields(cls):
        if field.default is not attrs.NOTHING:
            setattr(cls, field.name, field.default)
    return cls


def _invalid_fields() -> Any:
    # ``invalid_fields`` is not a wire field (metadata), counts in ==, never in hash(): its values
    # are whatever JSON the API sent, lists and objects included.
    return attrs.field(default=_NO_INVALID_FIELDS, hash=False, metadata={"wire": False})


@_class_defaults
@attrs.frozen(kw_only=True, slots=False)
class Speech:
    """One text-to-speech job, as GET ``speech/`` and GET ``speech/{audio_id}`` return it.

    ``audio_status`` is an :class:`AudioStatus` for the documented values and the raw ``int`` for
    any other, so a status the API adds later never breaks decoding.  Timestamps are timezone-aware.
    ``fail_code`` and ``fail_reason`` are present only on FAILED jobs fetched one by one.

    ``invalid_fields`` maps each field the API sent with a value of an unexpected type (that field
    is then ``None``) to that value, e.g. ``{"duration": "3s"}``; it is empty for a clean record.
    It counts in ``==`` (records that dropped different values differ) but not in ``hash()``, as
    its values may be lists or objects.

    (Not slotted: decoding sets a record's ``__dict__`` in one step, several times cheaper than a
    frozen slotted ``__init__``; see ``_converter.py``.)
    """

    audio_id: str
    asset_id: int | None = None
    audio_status: AudioStatus | int | None = None
    status: str | None = None
    create_mode: str | None = None
    provider: str | None = None
    model: str | None = None
    voice_id: str | None = None
    voice_name: str | None = None
    language_code: str | None = None
    prompt: str | None = None
    path: str | None = None
    url: str | None = None
    name: str | None = None
    duration: float | None = None
    file_size: int | None = None
    format: str | None = None
    sample_rate: int | None = None
    bitrate: int | None = None
    channel: int | None = None
    credits: float | None = None
    created_at: datetime | None = None
    updated_at: datetime | None = None
    fail_code: str | None = None
    fail_reason: str | None = None
    audio_status_name: str | None = None
    audio_status_final: bool | None = None
    error: str | None = None
    invalid_fields: Mapping[str, object] = _invalid_fields()

    @property
    def known_status(self) -> AudioStatus | None:
        """The status as an :class:`AudioStatus`, from ``audio_status`` or else its name."""
        if isinstance(self.audio_status, AudioStatus):
            return self.audio_status
        if self.audio_status is None and self.audio_status_name is not None:
            return _BY_NAME.get(self.audio_status_name.upper())
        return None

    @property
    def status_name(self) -> str:
        """A readable status: the API's name for it, else ours, else the raw number."""
        if self.audio_status_name:
            return self.audio_status_name
        if self.audio_status is None:
            return "UNKNOWN"
        known = self.known_status
        return known.name if known is not None else str(self.audio_status)

    @property
    def is_final(self) -> bool:
        """Whether the job will change no more.

        ``audio_status_final`` is authoritative when present; otherwise the documented status map
        decides, and an unknown status counts as not final.
        """
        if self.audio_status_final is not None:
            return self.audio_status_final
        known = self.known_status
        return known is not None and known.is_final

    @property
    def is_completed(self) -> bool:
        """Whether the job is final and COMPLETED: its audio is at ``url``."""
        return self.is_final and self.known_status is AudioStatus.COMPLETED

    @property
    def is_failed(self) -> bool:
        """Whether the job is final and FAILED: see ``fail_code`` and ``fail_reason``."""
        return self.is_final and self.known_status is AudioStatus.FAILED


@attrs.frozen(kw_only=True)
class SpeechPage:
    """One page of GET ``speech/``: the jobs, newest first, and where the next page starts.

    ``skipped`` counts the records left out of ``data`` because they are not usable jobs (no
    ``audio_id``, or an ``audio_status`` or ``audio_status_final`` of the wrong type); each one is
    kept in ``invalid_fields`` under its position, e.g. ``"data[3]"``.
    """

    data: tuple[Speech, ...] = ()
    next_offset: int | None = None
    has_more: bool | None = None
    skipped: int = attrs.field(default=0, metadata={"wire": False})
    invalid_fields: Mapping[str, object] = _invalid_fields()


@attrs.frozen(kw_only=True)
class Voice:
    """One voice of GET ``speech/voices``; pass its ``voice_id`` to ``create()``.

    ``age`` is kept as text (a number from the API becomes its string).
    """

    voice_id: str
    provider_voice_id: str | None = None
    display_name: str | None = None
    provider: str | None = None
    gender: str | None = None
    age: str | None = None
    accent: str | None = None
    style_tags: tuple[str, ...] = ()
    invalid_fields: Mapping[str, object] = _invalid_fields()


@attrs.frozen(kw_only=True)
class VoiceList:
    """The body of GET ``speech/voices``; ``skipped`` counts voices left out for lacking a
    ``voice_id`` (each kept in ``invalid_fields`` under its position, e.g. ``"voices[2]"``)."""

    voices: tuple[Voice, ...] = ()
    skipped: int = attrs.field(default=0, metadata={"wire": False})
    invalid_fields: Mapping[str, object] = _invalid_fields()


@attrs.frozen(kw_only=True)
class CreditFormula:
    """How a model bills its text.

    ``unit_credits`` per block of ``unit_characters``; with ``round_up`` a started block counts.
    """

    unit_characters: int | None = None
    unit_credits: float | None = None
    round_up: bool | None = None
    invalid_fields: Mapping[str, object] = _invalid_fields()


@attrs.frozen(kw_only=True)
class ModelInfo:
    """One model of GET ``speech/models``: its limits, languages, billing and emotions."""

    model: str | None = None
    display_name: str | None = None
    provider: str | None = None
    max_characters: int | None = None
    supported_language_codes: tuple[str, ...] = ()
    credit_formula: CreditFormula | None = None
    emotions: tuple[str, ...] = ()
    invalid_fields: Mapping[str, object] = _invalid_fields()


@attrs.frozen(kw_only=True)
class ProviderGroup:
    """The models of one provider (MiniMax, ElevenLabs, ...)."""

    provider: str | None = None
    models: tuple[ModelInfo, ...] = ()
    invalid_fields: Mapping[str, object] = _invalid_fields()


@attrs.frozen(kw_only=True)
class SpeechModels:
    """The body of GET ``speech/models``: the default model and every model by provider."""

    default_model: str | None = None
    provider_groups: tuple[ProviderGroup, ...] = ()
    invalid_fields: Mapping[str, object] = _invalid_fields()

    @property
    def models(self) -> tuple[ModelInfo, ...]:
        """Every model of every provider, in the API's order."""
        return tuple(model for group in self.provider_groups for model in group.models)

    def get(self, model: str) -> ModelInfo | None:
        """The description of ``model``, or ``None`` when the API did not list it."""
        return next((info for info in self.models if info.model == model), None)
