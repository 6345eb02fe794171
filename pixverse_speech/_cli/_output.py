"""What the command prints: human tables (with rich when it is installed) or JSON lines.

rich is an optional extra (``pixverse-speech[cli]``); without it the same information comes out as
plain aligned text, so library users who never run the command do not need it.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import IO, Any

from .._converter import to_wire
from .._exceptions import APIError, SpeechError
from .._models import Speech

__all__ = ["Output", "have_rich"]


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


def _cell(value: object, width: int = 48) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S")
    text = " ".join(str(value).split())
    return text if len(text) <= width else text[: width - 1] + "…"


SPEECH_COLUMNS: tuple[tuple[str, str], ...] = (
    ("audio_id", "AUDIO ID"),
    ("status_name", "STATUS"),
    ("model", "MODEL"),
    ("voice_name", "VOICE"),
    ("duration", "SECONDS"),
    ("created_at", "CREATED"),
    ("prompt", "PROMPT"),
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
    ) -> None:
        self.json_lines = json_lines
        self.stream = stream or sys.stdout
        self.errors = errors or sys.stderr
        self.rich = have_rich() and not json_lines
        self.color = self.stream.isatty() if color is None else color

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

    def table(self, headers: Sequence[str], rows: Iterable[Sequence[str]], title: str = "") -> None:
        """A table of text cells."""
        rows = [list(row) for row in rows]
        if self.rich:
            from rich.table import Table

            table = Table(title=title or None, show_edge=False, header_style="bold")
            for index, header in enumerate(headers):
                # The first column holds ids: a wrapped id cannot be copied and pasted.
                table.add_column(header, overflow="fold", no_wrap=index == 0)
            for row in rows:
                table.add_row(*row)
            self.console().print(table)
            return
        widths = [len(h) for h in headers]
        for row in rows:
            widths = [max(w, len(cell)) for w, cell in zip(widths, row, strict=True)]
        if title:
            self.stream.write(title + "\n")
        for row in [list(headers), *rows]:
            line = "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True))
            self.stream.write(line.rstrip() + "\n")
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
            # Ids are never shortened: a cut id is a lost id.
            rows.append(
                [
                    _cell(getattr(speech, name), width=200 if name == "audio_id" else 40)
                    for name, _ in SPEECH_COLUMNS
                ]
            )
            count += 1
        self.table([header for _, header in SPEECH_COLUMNS], rows, title)
        return count

    def record(self, speech: Speech) -> None:
        """One job: every field it has, as JSON or as a two-column table."""
        wire = to_wire(speech)
        if self.json_lines:
            self.json(wire)
            return
        self.table(["FIELD", "VALUE"], [[key, _cell(value, 100)] for key, value in wire.items()])

    def message(self, text: str) -> None:
        """A human note (never in JSON mode, where stdout is for records)."""
        if not self.json_lines:
            self.stream.write(text + "\n")
            self.stream.flush()

    def error(self, exc: BaseException, audio_id: str | None = None) -> None:
        """One clear line about an error: on stderr, or as a JSON record in JSON mode."""
        if self.json_lines:
            self.json(error_record(exc, audio_id))
        else:
            self.errors.write(f"error: {exc}\n")
            self.errors.flush()
