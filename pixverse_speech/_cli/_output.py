"""What the command prints: human tables fitted to the terminal, or JSON lines.

Tables are plain aligned text, fitted to the terminal's width by :mod:`._table`.  rich, an
optional extra (``pixverse-speech[cli]``), draws only the live display of waits and colours.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import textwrap
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import IO, Any

from .._converter import to_wire
from .._exceptions import APIError, SpeechError
from .._models import Speech
from ._table import Column, render

__all__ = ["Output", "have_rich", "terminal_width"]


def have_rich() -> bool:
    """Whether the optional ``rich`` package is importable."""
    try:
        import rich  # noqa: F401
    except ImportError:
        return False
    return True


def error_record(exc: BaseException, audio_id: str | None = None) -> dict[str, Any]:
    """An error as one JSON object for ``--json`` output."""
    record: dict[str, Any] = {"type": type(exc).__name__, "message": str(exc)}
    if isinstance(exc, APIError):
        record["status_code"] = exc.status_code
    if isinstance(exc, SpeechError) and exc.audio_id is not None:
        record["audio_id"] = exc.audio_id
    elif audio_id is not None:
        record["audio_id"] = audio_id
    return {"error": record}


def terminal_width(stream: IO[str]) -> int | None:
    """How wide tables on ``stream`` may be: the terminal's width, ``$COLUMNS``, or no limit.

    Output to a pipe or a file is not cut unless ``COLUMNS`` says so: ``grep`` wants whole ids.
    """
    if stream.isatty():
        return shutil.get_terminal_size().columns
    columns = os.environ.get("COLUMNS", "")
    return int(columns) if columns.isdigit() and int(columns) > 0 else None


def _cell(value: object) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S")
    return " ".join(str(value).split())


#: The job table: (attribute, how its column gives way).  Lower priority numbers stay longer.
SPEECH_COLUMNS: tuple[tuple[str, Column], ...] = (
    ("audio_id", Column("AUDIO ID", "id")),
    ("status_name", Column("STATUS", "fixed")),
    ("model", Column("MODEL", "text", priority=3)),
    ("voice_name", Column("VOICE", "text", priority=5)),
    ("duration", Column("SECONDS", "fixed", priority=4)),
    ("created_at", Column("CREATED", "fixed", priority=2)),
    ("prompt", Column("PROMPT", "text", priority=1, min_width=12)),
)


class Output:
    """Prints records and errors in the chosen format."""

    def __init__(
        self,
        *,
        json_lines: bool,
        stream: IO[str] | None = None,
        errors: IO[str] | None = None,
        color: bool | None = None,
        width: int | None = None,
    ) -> None:
        self.json_lines = json_lines
        self.stream = stream or sys.stdout
        self.errors = errors or sys.stderr
        self.rich = have_rich() and not json_lines
        self.color = self.stream.isatty() if color is None else color
        #: The widest a table line may be; ``None``: the terminal's (see :func:`terminal_width`).
        self.width = width if width is not None else terminal_width(self.stream)
        #: The job this command created, named again if anything fails after (see ``error``).
        self.created: str | None = None

    # -- JSON ------------------------------------------------------------------------------

    def json(self, record: object) -> None:
        """One JSON object on one line."""
        self.stream.write(json.dumps(record, ensure_ascii=False, sort_keys=False) + "\n")
        self.stream.flush()

    # -- human ------------------------------------------------------------------------------

    def console(self, stream: IO[str] | None = None) -> Any:
        """A rich Console writing to ``stream`` (stdout by default); requires rich."""
        from rich.console import Console

        target = stream or self.stream
        return Console(
            file=target,
            force_terminal=self.color if target is self.stream else None,
            no_color=not self.color if target is self.stream else None,
            highlight=False,
            soft_wrap=False,
            width=None if target.isatty() else 200,
        )

    def table(
        self, columns: Sequence[str | Column], rows: Iterable[Sequence[str]], title: str = ""
    ) -> None:
        """A table of text cells, fitted to :attr:`width` (see :mod:`._table`)."""
        specs = [
            c if isinstance(c, Column) else Column(c, "text", priority=index)
            for index, c in enumerate(columns)
        ]
        if title:
            self.stream.write(title + "\n")
        for line in render(specs, [list(row) for row in rows], self.width):
            self.stream.write(line + "\n")
        self.stream.flush()

    def speeches(self, speeches: Iterable[Speech], title: str = "") -> int:
        """Jobs as JSON lines or as one table; returns how many."""
        count = 0
        if self.json_lines:
            for speech in speeches:
                self.json(to_wire(speech))
                count += 1
            return count
        rows = []
        for speech in speeches:
            rows.append([_cell(getattr(speech, name)) for name, _ in SPEECH_COLUMNS])
            count += 1
        self.table([column for _, column in SPEECH_COLUMNS], rows, title)
        return count

    def record(self, speech: Speech) -> None:
        """One job: every field it has, as JSON or as a two-column table."""
        wire = to_wire(speech)
        if self.json_lines:
            self.json(wire)
            return
        # Values are folded onto more lines, never cut: a record is read to get at its values.
        key_width = max(len(key) for key in [*wire, "FIELD"])
        room = max(20, (self.width or 10**6) - key_width - 2)
        self.stream.write(f"{'FIELD'.ljust(key_width)}  VALUE\n")
        for key, value in wire.items():
            text = _cell(value)
            parts = textwrap.wrap(text, room, break_long_words=True, break_on_hyphens=False)
            for index, part in enumerate(parts or ["-"]):
                label = key if index == 0 else ""
                self.stream.write(f"{label.ljust(key_width)}  {part}".rstrip() + "\n")
        self.stream.flush()

    def message(self, text: str) -> None:
        """A human note (never in JSON mode, where stdout is for records)."""
        if not self.json_lines:
            self.stream.write(text + "\n")
            self.stream.flush()

    def error(self, exc: BaseException, audio_id: str | None = None) -> None:
        """One clear line about an error: on stderr, or as a JSON record in JSON mode.

        When this command created a job, the error names it: the job exists (and is billed)
        whatever happened after.
        """
        audio_id = audio_id or self.created
        if self.json_lines:
            self.json(error_record(exc, audio_id))
            return
        line = f"error: {exc}"
        if self.created is not None and self.created not in line:
            line += f" (job {self.created} was created)"
        self.errors.write(line + "\n")
        self.errors.flush()
