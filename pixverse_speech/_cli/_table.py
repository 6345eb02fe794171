"""Fitting a table to the terminal's width: shorten ids, cut text with an ellipsis, drop columns.

Each column says how it may give way (:class:`Column`).  When the table is too wide, text columns
are cut first, lowest priority first, then ids are shortened (the job number stays whole), then
whole columns are dropped, lowest priority first.  A date or a number is never cut: a half date is
worse than none, so such a column is dropped instead.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Literal

import attrs

__all__ = ["ELLIPSIS", "GAP", "Column", "fit", "shorten_id"]

ELLIPSIS = "…"
GAP = 2  # spaces between columns

Kind = Literal["id", "text", "fixed"]

_SPEECH_NUMBER = re.compile(r"-?speech:\d+$")


@attrs.frozen
class Column:
    """How a column gives way.

    ``kind``: ``"id"`` shortens from the middle and keeps the job number; ``"text"`` is cut at
    the end with an ellipsis down to ``min_width``; ``"fixed"`` (dates, numbers, statuses) is
    never cut.  ``priority``: lower stays longer; ``0`` is never dropped.
    """

    header: str
    kind: Kind = "text"
    priority: int = 0
    min_width: int = 8
    #: How far a text column is cut before ids are shortened.
    comfort_width: int = 24


def shorten_id(audio_id: str, width: int) -> str:
    """``audio_id`` in at most ``width`` characters, its ``speech:<number>`` tail whole.

    ``user:1-pixverse:me@example.com-speech:11223344`` at 30 becomes
    ``user:1-pixverse:…speech:11223344``.  Ids of another shape are cut at the end.
    """
    if len(audio_id) <= width:
        return audio_id
    match = _SPEECH_NUMBER.search(audio_id)
    if match is None:
        return cut(audio_id, width)
    tail = match.group(0).lstrip("-")
    keep = width - len(tail) - len(ELLIPSIS)
    if keep <= 0:
        return ELLIPSIS + tail
    return audio_id[:keep] + ELLIPSIS + tail


def min_id_width(audio_id: str) -> int:
    """The narrowest form of an id that still shows its job number."""
    match = _SPEECH_NUMBER.search(audio_id)
    if match is None:
        return min(len(audio_id), 12)
    return min(len(audio_id), len(ELLIPSIS) + len(match.group(0).lstrip("-")))


def cut(text: str, width: int) -> str:
    """``text`` in at most ``width`` characters, with an ellipsis when cut."""
    if len(text) <= width:
        return text
    if width <= 0:
        return ""
    return text[: width - 1] + ELLIPSIS


def fit(
    columns: Sequence[Column],
    rows: Sequence[Sequence[str]],
    width: int | None,
) -> tuple[list[Column], list[list[str]], list[int]]:
    """The columns kept, the rows' cells fitted to them, and each column's width.

    ``width=None`` means no limit: every cell is kept whole.
    """
    keep = list(range(len(columns)))
    natural = [
        max([len(columns[i].header), *(len(row[i]) for row in rows)]) for i in range(len(columns))
    ]
    widths = list(natural)

    def floor(i: int) -> int:
        column = columns[i]
        if column.kind == "fixed":
            return natural[i]
        if column.kind == "id":
            narrowest = max((min_id_width(row[i]) for row in rows), default=0)
            return max(len(column.header), narrowest)
        return min(natural[i], max(len(column.header), column.min_width))

    def total() -> int:
        return sum(widths[i] for i in keep) + GAP * (len(keep) - 1)

    if width is not None:
        # Text to a comfortable width, lowest priority first; then ids; then text to its
        # minimum; then drop columns.
        texts = sorted(
            (i for i in keep if columns[i].kind == "text"), key=lambda i: -columns[i].priority
        )
        ids = [i for i in keep if columns[i].kind == "id"]
        order = texts + ids
        steps = [(i, max(floor(i), columns[i].comfort_width)) for i in texts]
        steps += [(i, floor(i)) for i in ids + texts]
        for i, least in steps:
            excess = total() - width
            if excess <= 0:
                break
            widths[i] = max(min(least, widths[i]), widths[i] - excess)
        for i in sorted(keep, key=lambda i: -columns[i].priority):
            if total() <= width or columns[i].priority == 0:
                continue
            keep.remove(i)
            # A dropped column gives its room back, ids first, up to their natural widths.
            for j in reversed(order):
                if j in keep:
                    widths[j] = min(natural[j], widths[j] + max(0, width - total()))
    fitted = [
        [
            shorten_id(row[i], widths[i]) if columns[i].kind == "id" else cut(row[i], widths[i])
            for i in keep
        ]
        for row in rows
    ]
    return [columns[i] for i in keep], fitted, [widths[i] for i in keep]


def render(
    columns: Sequence[Column], rows: Sequence[Sequence[str]], width: int | None
) -> list[str]:
    """The table as lines of text, each at most ``width`` characters."""
    kept, fitted, widths = fit(columns, rows, width)
    lines = []
    for cells in [[c.header for c in kept], *fitted]:
        line = (" " * GAP).join(cell.ljust(w) for cell, w in zip(cells, widths, strict=True))
        lines.append(line.rstrip())
    if width is not None:
        # The last resort, for terminals narrower than the columns that are never dropped.
        lines = [cut(line, width) for line in lines]
    return lines
