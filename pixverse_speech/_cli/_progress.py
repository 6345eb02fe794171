"""The live per-job display of ``pixverse-speech wait`` (and the demo).

With rich and a terminal on stderr it is a table redrawn in place; otherwise one line per status
change, so logs of a CI job still show what happened.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from types import TracebackType
from typing import IO, Any

from .._exceptions import SpeechError, SpeechFailedError, WaitTimeoutError
from .._models import Speech
from ._output import Output
from ._table import Column, fit

#: The live table's columns: the id keeps its job number, the status is never cut.
LIVE_COLUMNS = (
    Column("AUDIO ID", "id"),
    Column("STATUS", "fixed"),
    Column("SINCE START", "fixed", priority=2),
    Column("RESULT", "text", priority=1),
)

__all__ = ["Progress", "Summary"]


class Summary:
    """Counts of how a batch of waits ended."""

    def __init__(self, results: Iterable[Speech | SpeechError], seconds: float) -> None:
        self.completed = self.failed = self.timed_out = self.errors = self.other = 0
        for result in results:
            if isinstance(result, Speech):
                if result.is_completed:
                    self.completed += 1
                elif result.is_failed:
                    self.failed += 1
                else:
                    self.other += 1
            elif isinstance(result, SpeechFailedError):
                self.failed += 1
            elif isinstance(result, WaitTimeoutError):
                self.timed_out += 1
            else:
                self.errors += 1
        self.seconds = seconds

    def __str__(self) -> str:
        parts = [f"{self.completed} completed", f"{self.failed} failed"]
        if self.other:
            parts.append(f"{self.other} final in another state")
        parts += [f"{self.timed_out} timed out", f"{self.errors} errors"]
        return ", ".join(parts) + f" in {self.seconds:.1f} s"


class Progress:
    """Shows each job's latest status while a batch wait runs."""

    def __init__(self, audio_ids: Iterable[str], out: Output, *, stream: IO[str]) -> None:
        self.started = time.monotonic()
        self.rows: dict[str, list[str]] = {
            audio_id: ["waiting", "-", ""] for audio_id in dict.fromkeys(audio_ids)
        }
        self.out = out
        self.stream = stream
        self.live: Any = None
        self.enabled = not out.json_lines

    def __enter__(self) -> Progress:
        if self.enabled and self.out.rich and self.stream.isatty():
            from rich.live import Live

            console = self.out.console(self.stream)
            self.live = Live(
                self._render(console.width),
                console=console,
                refresh_per_second=8,
                transient=True,
            )
            self.live.__enter__()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self.live is not None:
            self.live.__exit__(exc_type, exc, tb)
            self.live = None

    def update(self, speech: Speech) -> None:
        """Record a job's new status (the ``on_update`` callback)."""
        audio_id = speech.audio_id or "?"
        elapsed = f"{time.monotonic() - self.started:.1f}s"
        note = (speech.url or speech.fail_reason or "") if speech.is_final else ""
        self.rows[audio_id] = [speech.status_name, elapsed, note or ""]
        if not self.enabled:
            return
        if self.live is not None:
            self.live.update(self._render())
        else:
            self.stream.write(f"[{elapsed:>7}] {audio_id}: {speech.status_name}\n")
            self.stream.flush()

    def _render(self, width: int | None = None) -> Any:
        """The live table, fitted to ``width`` (the console's) so that no row ever wraps."""
        from rich.table import Table
        from rich.text import Text

        if width is None:
            width = self.live.console.width if self.live is not None else None
        rows = [[audio_id, *cells] for audio_id, cells in self.rows.items()]
        columns, fitted, widths = fit(LIVE_COLUMNS, rows, width)
        # No box and one space of padding on each side: two spaces between columns, as fit()
        # counts them.  Cells are already cut, and no_wrap keeps an id on one line regardless.
        table = Table(box=None, pad_edge=False, padding=(0, 1), header_style="bold")
        for column, column_width in zip(columns, widths, strict=True):
            table.add_column(column.header, no_wrap=True, overflow="ellipsis", width=column_width)
        for cells in fitted:
            style = {"COMPLETED": "green", "FAILED": "red"}.get(cells[1], "")
            table.add_row(
                *(Text(cell, style=style if i == 1 else "") for i, cell in enumerate(cells))
            )
        return table
