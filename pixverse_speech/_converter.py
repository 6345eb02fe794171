"""The one cattrs converter that turns JSON into our models, with every hook registered here.

The converter is strict about types (a string where a number belongs is an error naming the field,
never a silent ``int("2")``) and lenient about shape (unknown fields are ignored, missing ones are
``None``).  Every failure surfaces as :class:`ResponseDecodeError`; no other exception type
escapes :func:`structure`.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from contextvars import ContextVar
from datetime import datetime, timezone
from typing import Any, TypeVar

import cattrs
from cattrs.errors import ClassValidationError, IterableValidationError
from cattrs.gen import make_dict_structure_fn, override

from ._checks import shown
from ._exceptions import ResponseDecodeError
from ._models import (
    AudioStatus,
    CreditFormula,
    ModelInfo,
    ProviderGroup,
    Speech,
    SpeechModels,
    Voice,
    VoiceList,
)

__all__ = ["converter", "structure", "to_wire"]

T = TypeVar("T")


def _type_error(expected: str, value: object) -> TypeError:
    return TypeError(f"expected {expected}, got {type(value).__name__} {_excerpt(value)}")


def _excerpt(value: object) -> str:
    # Masked before it is cut (see shown); structure() sets the mask for the values it decodes.
    return shown(value, 60, _REDACT.get())


#: The mask of the :func:`structure` call under way: the hooks quote the values they refuse.
_REDACT: ContextVar[Callable[[str], str] | None] = ContextVar("_REDACT", default=None)


def _structure_str(value: object, _: type) -> str:
    if isinstance(value, str):
        return value
    raise _type_error("a string", value)


def _structure_bool(value: object, _: type) -> bool:
    if isinstance(value, bool):
        return value
    raise _type_error("a boolean", value)


def _structure_int(value: object, _: type) -> int:
    # JSON has one number type: 2.0 is a fine integer, 2.5 is not, and True is not a number.
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    raise _type_error("an integer", value)


def _structure_float(value: object, _: type) -> float:
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        result = float(value)
        if math.isfinite(result):
            return result
    raise _type_error("a number", value)


def _structure_datetime(value: object, _: type) -> datetime:
    if not isinstance(value, str):
        raise _type_error("an ISO 8601 timestamp", value)
    text = value.strip()
    # Python 3.10's fromisoformat does not accept a trailing "Z".
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        raise ValueError(f"expected an ISO 8601 timestamp, got {_excerpt(value)}") from None
    # The API speaks UTC; a timestamp without an offset is read as UTC, never as local time.
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=timezone.utc)


def _unstructure_datetime(value: datetime) -> str:
    return value.astimezone(timezone.utc).isoformat().replace("+00:00", "Z")


def _structure_audio_status(value: object, _: type) -> AudioStatus | int | None:
    if value is None:
        return None
    number = _structure_int(value, int)
    try:
        return AudioStatus(number)
    except ValueError:
        return number  # a status the API added after this library was written


def _structure_code(value: object, _: type) -> str | None:
    # Documented as a string; tolerate a number rather than lose the failure it describes.
    if value is None:
        return None
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return str(value)
    return _structure_str(value, str)


# Hooks for ``X | None``, the type of nearly every field: cattrs' generic optional hook looks the
# inner hook up on every call, which made it three fifths of the cost of decoding a record.


def _structure_optional_str(value: object, _: type) -> str | None:
    if value is None or isinstance(value, str):
        return value
    raise _type_error("a string", value)


def _structure_optional_bool(value: object, _: type) -> bool | None:
    if value is None or isinstance(value, bool):
        return value
    raise _type_error("a boolean", value)


def _structure_optional_int(value: object, cls: type) -> int | None:
    if value is None or type(value) is int:
        return value
    return _structure_int(value, cls)


def _structure_optional_float(value: object, cls: type) -> float | None:
    return None if value is None else _structure_float(value, cls)


def _structure_optional_datetime(value: object, cls: type) -> datetime | None:
    return None if value is None else _structure_datetime(value, cls)


def _tuple_hook(item_type: type[T], what: str) -> Callable[[object, type], tuple[T, ...]]:
    """A hook for ``tuple[item_type, ...]`` from a JSON list (never from a string or an object)."""

    def structure_tuple(value: object, _: type) -> tuple[T, ...]:
        if not isinstance(value, list):
            raise _type_error(f"a list of {what}", value)
        errors: list[Exception] = []
        items: list[T] = []
        hook = converter.get_structure_hook(item_type)  # once, not once per item
        for index, item in enumerate(value):
            try:
                items.append(hook(item, item_type))
            except Exception as exc:
                exc.__notes__ = [*getattr(exc, "__notes__", []), _IndexNote(index)]
                errors.append(exc)
        if errors:
            raise IterableValidationError(f"invalid {what}", errors, tuple)
        return tuple(items)

    return structure_tuple


class _IndexNote(str):
    """Where in a list a failing item stood, as a note on its error."""

    position: int

    def __new__(cls, position: int) -> _IndexNote:
        note = super().__new__(cls, f"item {position}")
        note.position = position
        return note


def _register_record(conv: cattrs.Converter, cls: type[T], **overrides: Any) -> None:
    """Structure ``cls`` from a JSON object only: any other JSON value is an error naming it."""
    inner = make_dict_structure_fn(cls, conv, **overrides)

    def structure_record(value: object, _: type) -> T:
        if not isinstance(value, dict):
            raise _type_error("a JSON object", value)
        return inner(value, cls)

    conv.register_structure_hook(cls, structure_record)


def _register_tuple(conv: cattrs.Converter, item_type: type[T], what: str) -> None:
    """Structure ``tuple[item_type, ...]`` with :func:`_tuple_hook`."""
    hook = _tuple_hook(item_type, what)
    conv.register_structure_hook_func(
        lambda t: t == tuple[item_type, ...],  # type: ignore[valid-type]
        hook,
    )


def _make_converter() -> cattrs.Converter:
    conv = cattrs.Converter(forbid_extra_keys=False, detailed_validation=True)
    conv.register_structure_hook(str, _structure_str)
    conv.register_structure_hook(bool, _structure_bool)
    conv.register_structure_hook(int, _structure_int)
    conv.register_structure_hook(float, _structure_float)
    conv.register_structure_hook(datetime, _structure_datetime)
    conv.register_unstructure_hook(datetime, _unstructure_datetime)
    optional_hooks: dict[object, Callable[[object, type], object]] = {
        str | None: _structure_optional_str,
        bool | None: _structure_optional_bool,
        int | None: _structure_optional_int,
        float | None: _structure_optional_float,
        datetime | None: _structure_optional_datetime,
    }
    conv.register_structure_hook_factory(lambda t: t in optional_hooks, lambda t: optional_hooks[t])
    conv.register_structure_hook_func(
        lambda t: t == (AudioStatus | int | None), _structure_audio_status
    )
    _register_tuple(conv, Speech, "speech records")
    _register_tuple(conv, Voice, "voices")
    _register_tuple(conv, ProviderGroup, "provider groups")
    _register_tuple(conv, ModelInfo, "models")
    _register_tuple(conv, str, "strings")
    _register_record(conv, Speech, fail_code=override(struct_hook=_structure_code))
    _register_record(conv, VoiceList)
    # The type of ``age`` is undocumented: keep a number as its text rather than refuse the voice.
    _register_record(conv, Voice, age=override(struct_hook=_structure_code))
    _register_record(conv, SpeechModels)
    _register_record(conv, ProviderGroup)
    _register_record(conv, ModelInfo)
    _register_record(conv, CreditFormula)
    return conv


converter = _make_converter()


def _structure_record(obj: object, cls: type[T]) -> T:
    if not isinstance(obj, dict):
        raise _type_error("a JSON object", obj)
    return converter.structure(obj, cls)


def _locate(exc: BaseException, path: str = "") -> tuple[str, BaseException]:
    """The dotted path of the first leaf error inside a cattrs error tree, and that error."""
    if isinstance(exc, (ClassValidationError, IterableValidationError)):
        for inner in exc.exceptions:
            step = ""
            for note in getattr(inner, "__notes__", []):
                if isinstance(note, _IndexNote):
                    step = f"[{note.position}]"
                elif hasattr(note, "name"):  # cattrs' AttributeValidationNote
                    step = f".{note.name}" if path else str(note.name)
                elif hasattr(note, "index"):  # cattrs' IterableValidationNote
                    step = f"[{note.index}]"
            return _locate(inner, path + step)
    return path, exc


def structure(
    obj: object,
    cls: type[T],
    *,
    audio_id: str | None = None,
    redact: Callable[[str], str] | None = None,
) -> T:
    """Decode a JSON value into ``cls``, or raise :class:`ResponseDecodeError` naming the field.

    ``redact`` masks secrets in the error message, which quotes the offending value.
    """
    mask = _REDACT.set(redact)
    try:
        return _structure_record(obj, cls)
    except Exception as exc:
        field, leaf = _locate(exc)
        where = f"field {field!r}: " if field else ""
        message = f"unexpected {cls.__name__} from the API: {where}{leaf}"
        raise ResponseDecodeError(
            redact(message) if redact is not None else message,
            field=field or None,
            audio_id=audio_id,
        ) from exc
    finally:
        _REDACT.reset(mask)


def to_wire(obj: object) -> dict[str, Any]:
    """A model as the JSON object the API would send, leaving out absent (``None``) fields."""
    data = converter.unstructure(obj)
    if not isinstance(data, dict):
        raise TypeError(f"expected a model, got {type(obj).__name__}")
    return {key: value for key, value in data.items() if value is not None}
