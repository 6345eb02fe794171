"""Job ids in URL paths.

An ``audio_id`` such as ``user:1-pixverse:me@example.com-speech:42`` goes into the path as it is:
``:`` and ``@`` are legal path characters and the upstream's own samples keep them raw.  Whatever
could end or split the segment (``/ ? # %``, spaces, controls, non-ASCII) is percent-encoded, and
the dot segments ``.`` and ``..`` are encoded whole so that no URL resolution can climb out of
``speech/``.
"""

from __future__ import annotations

from urllib.parse import quote

from ._checks import check_text, shown
from ._models import Speech

__all__ = [
    "MAX_AUDIO_ID_LENGTH",
    "audio_id_of",
    "check_audio_id",
    "check_audio_ids",
    "speech_path",
]

#: The longest ``audio_id`` accepted, in characters.  Real ids
#: (``user:<n>-pixverse:<email>-speech:<n>``) stay far below it even with a 254-character email;
#: a longer one could only make an oversized URL that no server accepts.
MAX_AUDIO_ID_LENGTH = 1_024

# RFC 3986 pchar, less "%": unreserved, sub-delims, ":" and "@".
_SEGMENT_SAFE = "-._~!$&'()*+,;=:@"


def check_audio_id(audio_id: object, *, name: str = "audio_id") -> str:
    """``audio_id`` if it can be a job's id, else a ``TypeError``/``ValueError`` naming it.

    It must be a non-blank string of at most :data:`MAX_AUDIO_ID_LENGTH` characters that UTF-8
    can encode (a lone surrogate cannot be put in a URL).
    """
    value = check_text(name, audio_id)
    if len(value) > MAX_AUDIO_ID_LENGTH:
        raise ValueError(
            f"{name} is too long: {len(value):,} characters, at most {MAX_AUDIO_ID_LENGTH:,}"
        )
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise ValueError(
            f"{name} cannot be encoded as UTF-8 (character {exc.start}: "
            f"{value[exc.start : exc.end]!r}): {shown(value)}"
        ) from None
    return value


def audio_id_of(job: object, *, name: str = "audio_id") -> str:
    """The id of ``job``, an ``audio_id`` or a :class:`Speech`, checked as by ``check_audio_id``."""
    return check_audio_id(job.audio_id if isinstance(job, Speech) else job, name=name)


def check_audio_ids(audio_ids: object) -> list[str]:
    """Every id of an iterable, each checked; a ``TypeError``/``ValueError`` naming the bad one."""
    if isinstance(audio_ids, (str, bytes)):
        raise TypeError("audio_ids must be an iterable of ids, not a single string")
    try:
        items = iter(audio_ids)  # type: ignore[call-overload]
    except TypeError:
        raise TypeError(
            f"audio_ids must be an iterable of ids, got {type(audio_ids).__name__}"
        ) from None
    return [check_audio_id(audio_id, name=f"audio_ids[{i}]") for i, audio_id in enumerate(items)]


def quote_segment(value: str) -> str:
    """``value`` as exactly one path segment."""
    if value in (".", ".."):
        return value.replace(".", "%2E")
    return quote(value, safe=_SEGMENT_SAFE)


def speech_path(audio_id: str) -> str:
    """The path of one job, relative to the API's base URL."""
    return "pixverse/speech/" + quote_segment(audio_id)
