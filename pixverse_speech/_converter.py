"""The one cattrs converter that turns JSON into our models, with every hook registered here.

Decoding is strict only where the library's logic depends on a field, and tolerant everywhere else:

- Essential fields must have their type: a job's ``audio_id`` (a string, required),
  ``audio_status`` (an integer) and ``audio_status_final`` (a boolean); a voice's ``voice_id``;
  the list of a list body (``data``, ``voices``, ``provider_groups``).  A body that is not a JSON
  object, or a wrong essential field, is a :class:`ResponseDecodeError` naming it.
- Any other field with a value of the wrong type decodes to its absent value (``None``, or ``()``
  for a list), and the value the API sent is kept in the record's ``invalid_fields``.  Lossless
  coercions are made, never lossy ones: ``2.0`` is a fine integer, ``"2"`` and ``2.5`` are not.
- An item of a list that cannot be decoded (a job without a usable ``audio_id``, a string list
  item that is not a string) is left out and kept in ``invalid_fields`` under ``"field[i]"``;
  ``SpeechPage.skipped`` and ``VoiceList.skipped`` count the records left out.

What was dropped is reported to a :class:`DriftLog` (one WARNING per model field per client) by
:func:`structure`, the only entry point the client uses.  Unknown fields are ignored.

Cost: a job record, the hot path (50 per list page, one per poll), takes a fast path: the
record's *shape* (its keys and the types of its values) is looked up in a small cache of plans;
a copy of the JSON object, after the plan's conversions (``audio_status``, two timestamps) and
drops (a non-essential field of a type it can never take), becomes the record's ``__dict__``: no
hook call per field, no frozen ``__init__``, and absent fields read their defaults from the class.
Anything the plan cannot settle (a wrong essential field, a missing ``audio_id``, an integral
float, an unparsable timestamp) goes to the tolerant path, which decides; a property test holds
the two to the same results.  ``benchmarks/decode.py`` measures both.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Mapping
from contextvars import ContextVar
from datetime import datetime, timezone
from types import NoneType
from typing import Any, TypeVar, cast, get_args, get_origin

import attrs
import cattrs

from ._checks import shown
from ._exceptions import ResponseDecodeError
from ._models import (
    AudioStatus,
    CreditFormula,
    ModelInfo,
    ProviderGroup,
    Speech,
    SpeechModels,
    SpeechPage,
    Voice,
    VoiceList,
    _ReadOnlyMapping,
)

__all__ = ["DriftLog", "converter", "structure", "to_wire"]

T = TypeVar("T")

logger = logging.getLogger("pixverse_speech")

#: Per model, the fields whose type the library's logic depends on.
ESSENTIAL: Mapping[type, frozenset[str]] = {
    Speech: frozenset({"audio_id", "audio_status", "audio_status_final"}),
    Voice: frozenset({"voice_id"}),
    SpeechPage: frozenset({"data"}),
    VoiceList: frozenset({"voices"}),
    SpeechModels: frozenset({"provider_groups"}),
}


# -- errors and what was dropped --------------------------------------------------------------


class _EssentialError(Exception):
    """An essential field (or the body itself) is unusable: the record cannot be decoded."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"field {field!r}: {reason}" if field else reason)
        self.field = field
        self.reason = reason


@attrs.frozen
class _Dropped:
    """A value decoding left out: a field's (``item`` is ``None``) or a list item's."""

    model: str
    field: str
    item: int | None
    value: object
    reason: str
    #: the job (or voice) the value came from, when it says
    owner: str | None = None


#: What the decoding now running dropped; ``None`` outside :func:`structure`.
_dropped: ContextVar[list[_Dropped] | None] = ContextVar("pixverse_speech_dropped", default=None)


def _note(event: _Dropped) -> None:
    events = _dropped.get()
    if events is not None:
        events.append(event)
    else:  # decoded through ``converter`` directly: report at once, once per process
        _PROCESS_LOG.report([event])


class DriftLog:
    """One WARNING per model field (``Speech.duration``) whose values were dropped; each skipped
    list item gets a WARNING every time.  One per client, so that a drifted field is said once."""

    def __init__(self, redact: Callable[[str], str] | None = None) -> None:
        self._redact = redact
        self._warned: set[str] = set()

    def report(self, events: list[_Dropped]) -> None:
        skipped = [event for event in events if event.item is not None]
        for event in events:
            if event.item is not None:
                continue
            name = f"{event.model}.{event.field}"
            if name in self._warned:
                continue
            self._warned.add(name)
            self._warn(
                "%s%s: %s; decoded as None, the value kept in invalid_fields "
                "(logged once per field by this client)",
                name,
                f" of {event.owner}" if event.owner else "",
                event.reason,
            )
        if skipped:
            shown = "; ".join(
                f"{event.model}.{event.field}[{event.item}]: {event.reason}"
                for event in skipped[:3]
            )
            more = f" (and {len(skipped) - 3} more)" if len(skipped) > 3 else ""
            self._warn(
                "left out %d list item(s) that cannot be used, kept in invalid_fields: %s%s",
                len(skipped),
                shown,
                more,
            )

    def _warn(self, message: str, *args: object) -> None:
        text = message % args
        # The reason quotes the API's value: mask the token in case the API echoed it.
        logger.warning(self._redact(text) if self._redact is not None else text)


_PROCESS_LOG = DriftLog()


#: The mask of the :func:`structure` call under way: the hooks quote the values they refuse.
_REDACT: ContextVar[Callable[[str], str] | None] = ContextVar("_REDACT", default=None)


def _excerpt(value: object, limit: int = 60) -> str:
    # Masked before it is cut (see shown); structure() sets the mask for the values it decodes.
    return shown(value, limit, _REDACT.get())


def _type_error(expected: str, value: object) -> TypeError:
    return TypeError(f"expected {expected}, got {type(value).__name__} {_excerpt(value)}")


# -- value hooks: strict, each raises TypeError/ValueError on a value it cannot take ----------


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
        try:
            result = float(value)
        except OverflowError:
            result = math.inf
        if math.isfinite(result):
            return result
    raise _type_error("a finite number", value)


def _parse_datetime(text: str) -> datetime:
    """An aware datetime from ISO 8601 text (one without an offset is UTC, never local time)."""
    try:
        parsed = datetime.fromisoformat(text)  # in C; takes a trailing "Z" from Python 3.11 on
    except ValueError:
        normal = text.strip()
        if normal.endswith(("Z", "z")):
            normal = normal[:-1] + "+00:00"
        try:
            parsed = datetime.fromisoformat(normal)
        except ValueError:
            raise ValueError(f"expected an ISO 8601 timestamp, got {_excerpt(text)}") from None
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=timezone.utc)


def _structure_datetime(value: object, _: type) -> datetime:
    if not isinstance(value, str):
        raise _type_error("an ISO 8601 timestamp", value)
    return _parse_datetime(value)


def _unstructure_datetime(value: datetime) -> str:
    return value.astimezone(timezone.utc).isoformat().replace("+00:00", "Z")


class _Statuses(dict[int, "AudioStatus | int"]):
    """``AudioStatus`` by value; a status the API added after this library was written stays its
    number.  ``__getitem__`` is a C call, the fast path's whole conversion of ``audio_status``."""

    def __missing__(self, key: int) -> int:
        return key


_STATUSES = _Statuses({status.value: status for status in AudioStatus})


def _structure_audio_status(value: object, _: type) -> AudioStatus | int | None:
    if value is None:
        return None
    number = _structure_int(value, int)
    return _STATUSES[number]


def _structure_code(value: object, _: type) -> str | None:
    # Documented as a string; a number is kept as its text (lossless) rather than dropped.
    if value is None:
        return None
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return str(value)
    return _structure_str(value, str)


def _optional(hook: Callable[[object, type], T]) -> Callable[[object, type], T | None]:
    def structure_optional(value: object, cls: type) -> T | None:
        return None if value is None else hook(value, cls)

    return structure_optional


# -- records: the tolerant path ---------------------------------------------------------------


@attrs.frozen
class _Field:
    """How the tolerant path decodes one field of a record."""

    name: str
    essential: bool
    required: bool
    #: a value hook, or for a list field the hook of one item
    hook: Callable[[object, type], Any]
    type: Any
    #: for ``tuple[X, ...]``: X, else None
    item_type: Any = None


def _record_fields(conv: cattrs.Converter, cls: type, overrides: Mapping[str, Any]) -> list[_Field]:
    essential = ESSENTIAL.get(cls, frozenset())
    fields = []
    for field in attrs.fields(attrs.resolve_types(cls)):
        if not field.metadata.get("wire", True):
            continue
        item_type = None
        if get_origin(field.type) is tuple:
            item_type = get_args(field.type)[0]
            hook = overrides.get(field.name) or conv.get_structure_hook(item_type)
        else:
            hook = overrides.get(field.name) or conv.get_structure_hook(field.type)
        fields.append(
            _Field(
                name=field.name,
                essential=field.name in essential,
                required=field.default is attrs.NOTHING,
                hook=hook,
                type=field.type,
                item_type=item_type,
            )
        )
    return fields


def _reason(exc: BaseException) -> str:
    return str(exc) or type(exc).__name__


def _tolerant_record(
    conv: cattrs.Converter, cls: type[T], overrides: Mapping[str, Any]
) -> Callable[[object, type], T]:
    """The tolerant structure function of ``cls``: see the module docstring."""
    fields = _record_fields(conv, cls, overrides)
    counts_skips = hasattr(attrs.fields(cast(Any, cls)), "skipped")
    model = cls.__name__
    owner_key = next((f.name for f in fields if f.required), None)  # audio_id, voice_id

    def structure_record(value: object, _: type) -> T:
        if not isinstance(value, dict):
            raise _EssentialError("", str(_type_error("a JSON object", value)))
        values: dict[str, Any] = {}
        invalid: dict[str, object] = {}
        skipped = 0
        owner = value.get(owner_key) if owner_key else None
        owner = owner if isinstance(owner, str) else None
        for field in fields:
            name = field.name
            raw = value.get(name)
            if raw is None:
                if field.required:
                    raise _EssentialError(name, "missing")
                continue  # absent: the attrs default
            if field.item_type is None:
                try:
                    values[name] = field.hook(raw, field.type)
                except Exception as exc:
                    if field.essential:
                        raise _EssentialError(name, _reason(exc)) from None
                    invalid[name] = raw
                    _note(_Dropped(model, name, None, raw, _reason(exc), owner))
                continue
            # A list field.
            if not isinstance(raw, list):
                reason = str(_type_error("a list", raw))
                if field.essential:
                    raise _EssentialError(name, reason)
                invalid[name] = raw
                _note(_Dropped(model, name, None, raw, reason, owner))
                continue
            items: list[Any] = []
            append, hook, item_type = items.append, field.hook, field.item_type
            for index, item in enumerate(raw):
                try:
                    append(hook(item, item_type))
                except _EssentialError as exc:
                    reason = str(exc)
                except Exception as exc:
                    reason = _reason(exc)
                else:
                    continue
                known_id = item.get("audio_id") if isinstance(item, dict) else None
                if isinstance(known_id, str):  # never lose a job's id without saying it
                    reason += f" (audio_id {known_id!r})"
                invalid[f"{name}[{index}]"] = item
                skipped += 1
                _note(_Dropped(model, name, index, item, reason))
            values[name] = tuple(items)
        if invalid:
            values["invalid_fields"] = _ReadOnlyMapping(invalid)
        if counts_skips and skipped:
            values["skipped"] = skipped
        return cls(**values)

    return structure_record


# -- job records: the fast path ---------------------------------------------------------------


def _finite(value: float) -> float:
    if math.isfinite(value):
        return value
    raise ValueError("not finite")


#: For each type of a job's field, the JSON value types the fast path takes, with a conversion.
_FAST_TYPES: dict[object, dict[type, Callable[[Any], Any] | None]] = {
    str: {str: None},
    str | None: {str: None, NoneType: None},
    int | None: {int: None, NoneType: None},
    bool | None: {bool: None, NoneType: None},
    float | None: {float: _finite, int: float, NoneType: None},
    datetime | None: {str: _parse_datetime, NoneType: None},
    AudioStatus | int | None: {int: _STATUSES.__getitem__, NoneType: None},
}
#: JSON value types only the tolerant path can judge (an integral float is an integer); any
#: other type a field does not take is dropped by the fast path too.
_UNDECIDED: dict[object, frozenset[type]] = {int | None: frozenset({float})}


class _Plan:
    """What turns a JSON object of one known shape into a record's ``__dict__``."""

    __slots__ = ("conversions", "dropped", "unknown")

    def __init__(
        self,
        conversions: tuple[tuple[str, Callable[[Any], Any]], ...],
        unknown: tuple[str, ...],
        dropped: tuple[_Field, ...],
    ) -> None:
        self.conversions = conversions
        self.unknown = unknown
        self.dropped = dropped


def _fast_record(
    conv: cattrs.Converter, cls: type[T], overrides: Mapping[str, Any]
) -> tuple[Callable[[object, type], T], Callable[[object, type], T]]:
    """The tolerant structure function of ``cls``, and that function preceded by a plan cached
    per record shape for the records it can decode alone: ``(fast, slow)``.

    A shape is the tuple of a record's keys followed by the types of its values.  A shape whose
    every value has its field's exact type (or one with a lossless conversion), or a type the
    field can never take (dropped, as the slow path would), gets a plan; any other shape is
    ``None`` in the cache and goes to the slow path, as does a plan whose conversion fails (a
    timestamp that does not parse, an infinite number).
    """
    slow = _tolerant_record(conv, cls, overrides)
    fields = {field.name: field for field in _record_fields(conv, cls, overrides)}
    essential = ESSENTIAL.get(cls, frozenset())
    accepts: dict[str, dict[type, Callable[[Any], Any] | None]] = {}
    required: set[str] = set()
    for field in attrs.fields(attrs.resolve_types(cast(Any, cls))):
        if field.default is attrs.NOTHING:
            required.add(field.name)
        elif cls.__dict__.get(field.name, attrs.NOTHING) is not field.default:
            raise TypeError(f"{cls.__name__}.{field.name}: its default must be a class attribute")
        if field.metadata.get("wire", True):
            accepts[field.name] = _FAST_TYPES[field.type]
    plans: dict[tuple[object, ...], _Plan | None] = {}
    plans_max = 256  # shapes are few in practice; an adversarial stream stops being cached

    def plan_of(shape: tuple[object, ...]) -> _Plan | None:
        half = len(shape) // 2
        keys, types = shape[:half], shape[half:]
        conversions: list[tuple[str, Callable[[Any], Any]]] = []
        unknown: list[str] = []
        dropped: list[_Field] = []
        for key, kind in zip(keys, types, strict=True):
            if not isinstance(key, str):
                return None
            accepted = accepts.get(key)
            if accepted is None:
                unknown.append(key)  # ignored, as the slow path does
                continue
            if kind not in accepted:
                field = fields[key]
                if key in essential or key in overrides or kind in _UNDECIDED.get(field.type, ()):
                    return None
                dropped.append(field)
                continue
            convert = accepted[kind]
            if convert is not None:
                conversions.append((key, convert))
        if not required <= set(keys):
            return None
        return _Plan(tuple(conversions), tuple(unknown), tuple(dropped))

    new = object.__new__
    set_dict = object.__setattr__
    # The records of a page share their shape, down to the key objects json.loads made: comparing
    # with the previous shape is cheaper than hashing it.  One tuple, rebound atomically.
    last: tuple[tuple[object, ...], _Plan | None] = ((), None)

    model = cls.__name__

    def drop(dropped: tuple[_Field, ...], record: dict[str, Any]) -> bool:
        """Set each field of ``dropped`` to ``None`` in ``record``, its value into
        ``invalid_fields``, as the slow path does; ``False`` if a field's hook takes its value."""
        invalid: dict[str, object] = {}
        owner = record.get("audio_id")
        for field in dropped:
            raw = record[field.name]
            try:
                field.hook(raw, field.type)
            except Exception as exc:  # the expected outcome: the reason to log
                _note(_Dropped(model, field.name, None, raw, _reason(exc), owner))
            else:
                return False
            invalid[field.name] = raw
            record[field.name] = None
        record["invalid_fields"] = _ReadOnlyMapping(invalid)
        return True

    def structure_fast(value: object, _: type) -> T:
        nonlocal last
        if type(value) is dict:
            shape = (*value, *map(type, value.values()))
            last_shape, plan = last
            if shape != last_shape:
                try:
                    plan = plans[shape]
                except KeyError:
                    plan = plan_of(shape)
                    if len(plans) < plans_max:
                        plans[shape] = plan
                last = (shape, plan)
            if plan is not None:
                record = value.copy()
                try:
                    for key, convert in plan.conversions:
                        record[key] = convert(record[key])
                except (TypeError, ValueError, OverflowError):
                    return slow(value, cls)
                for key in plan.unknown:
                    del record[key]
                if plan.dropped and not drop(plan.dropped, record):
                    return slow(value, cls)
                # What a frozen attrs __init__ would do field by field, in one step: every field
                # present is in ``record`` with its declared type, and an absent one reads its
                # default from the class (``_models._class_defaults``).
                instance = new(cls)
                set_dict(instance, "__dict__", record)
                return instance
        return slow(value, cls)

    return structure_fast, slow


# -- the converter ----------------------------------------------------------------------------


#: The tolerant hook behind each fast path (tests check that both decode alike).
SLOW_PATHS: dict[type, Callable[[object, type], Any]] = {}


def _make_converter() -> cattrs.Converter:
    conv = cattrs.Converter(forbid_extra_keys=False)
    conv.register_structure_hook(str, _structure_str)
    conv.register_structure_hook(bool, _structure_bool)
    conv.register_structure_hook(int, _structure_int)
    conv.register_structure_hook(float, _structure_float)
    conv.register_structure_hook(datetime, _structure_datetime)
    conv.register_unstructure_hook(datetime, _unstructure_datetime)
    # ``X | None``, the type of nearly every field: one direct hook each rather than cattrs'
    # generic optional hook, which looks the inner hook up on every call.
    optional_hooks: dict[object, Callable[[object, type], object]] = {
        kind | None: _optional(hook)
        for kind, hook in (
            (str, _structure_str),
            (bool, _structure_bool),
            (int, _structure_int),
            (float, _structure_float),
            (datetime, _structure_datetime),
        )
    }
    conv.register_structure_hook_factory(lambda t: t in optional_hooks, lambda t: optional_hooks[t])
    conv.register_structure_hook_func(
        lambda t: t == (AudioStatus | int | None), _structure_audio_status
    )
    # Innermost first: a record's hook looks up those of its fields' types when it is made.
    conv.register_structure_hook(CreditFormula, _tolerant_record(conv, CreditFormula, {}))
    conv.register_structure_hook(
        CreditFormula | None, _optional(conv.get_structure_hook(CreditFormula))
    )
    conv.register_structure_hook(ModelInfo, _tolerant_record(conv, ModelInfo, {}))
    conv.register_structure_hook(ProviderGroup, _tolerant_record(conv, ProviderGroup, {}))
    conv.register_structure_hook(SpeechModels, _tolerant_record(conv, SpeechModels, {}))
    # The type of ``age`` is undocumented: keep a number as its text rather than drop it.
    conv.register_structure_hook(Voice, _tolerant_record(conv, Voice, {"age": _structure_code}))
    conv.register_structure_hook(VoiceList, _tolerant_record(conv, VoiceList, {}))
    # Job records (50 a page, one a poll) take the fast path; it defers to the tolerant one.
    fast, SLOW_PATHS[Speech] = _fast_record(conv, Speech, {"fail_code": _structure_code})
    conv.register_structure_hook(Speech, fast)
    conv.register_structure_hook(SpeechPage, _tolerant_record(conv, SpeechPage, {}))
    for cls in ESSENTIAL.keys() | {CreditFormula, ModelInfo, ProviderGroup}:
        conv.register_unstructure_hook(cls, _wire_unstructure(conv, cls))
    return conv


def _wire_unstructure(conv: cattrs.Converter, cls: type) -> Callable[[Any], dict[str, Any]]:
    """A record as the API sent it: its wire fields, with each dropped value put back."""
    fields = [field.name for field in attrs.fields(cls) if field.metadata.get("wire", True)]

    def unstructure(record: Any) -> dict[str, Any]:
        data = {name: conv.unstructure(getattr(record, name)) for name in fields}
        for name, value in record.invalid_fields.items():
            if name in data:  # a list item's key ("data[3]") has no place of its own
                data[name] = value
        return data

    return unstructure


converter = _make_converter()


def structure(
    obj: object,
    cls: type[T],
    *,
    audio_id: str | None = None,
    redact: Callable[[str], str] | None = None,
    log: DriftLog | None = None,
) -> T:
    """Decode a JSON value into ``cls``, or raise :class:`ResponseDecodeError` naming the field.

    ``audio_id`` is the job asked for: a job record without an ``audio_id`` gets this one.
    ``redact`` masks secrets in the error message, which quotes the offending value.  What was
    dropped is reported to ``log`` (default: one log for the whole process).
    """
    if (
        audio_id is not None
        and cls is Speech
        and isinstance(obj, dict)
        and obj.get("audio_id") is None
    ):
        obj = {**obj, "audio_id": audio_id}
    events: list[_Dropped] = []
    token = _dropped.set(events)
    mask = _REDACT.set(redact)
    try:
        return converter.structure(obj, cls)
    except Exception as exc:
        # An essential field or the body; anything else a hook raised is the body's fault too,
        # so that no other exception type escapes a decode.
        field = exc.field if isinstance(exc, _EssentialError) else ""
        message = f"unexpected {cls.__name__} from the API: {exc}"
        raise ResponseDecodeError(
            redact(message) if redact is not None else message,
            field=field or None,
            audio_id=audio_id,
        ) from (None if isinstance(exc, _EssentialError) else exc)
    finally:
        _dropped.reset(token)
        _REDACT.reset(mask)
        if events:
            (log if log is not None else _PROCESS_LOG).report(events)


def to_wire(obj: object) -> dict[str, Any]:
    """A model as the JSON object the API would send, leaving out absent (``None``) fields."""
    data = converter.unstructure(obj)
    if not isinstance(data, dict):
        raise TypeError(f"expected a model, got {type(obj).__name__}")
    return {key: value for key, value in data.items() if value is not None}
