"""``pixverse-speech generate FILE --voice-id V --out DIR``: a file of texts to a folder of clips.

FILE holds one item per line: plain text, or (JSONL: a ``.jsonl``/``.ndjson`` file, or one whose
every non-blank line starts with ``{``) an object of create() settings.  Blank lines are skipped.
The clip of line *n* (counted from 1) goes to ``DIR/<n>.mp3`` as soon as it is ready.

``DIR/manifest.json`` records, for each line, its text, every job created for it (``audio_ids``),
its state and its file.  It is rewritten atomically (a temporary file renamed over it) before each
create is sent (state ``submitting``), as soon as each job exists (``running``: written from
``on_created``), and when each item ends (``completed``, ``failed`` or ``error``).  Running the
same command again reads it: completed items whose file exists are skipped, failed ones are
reported again, running ones are waited for (and downloaded), items that ended in another error
are tried again, and an item caught ``submitting`` (or whose create may have landed) is first
looked for in the account's list, so that no item is billed twice.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any

import anyio

from .._exceptions import (
    BatchGenerationError,
    SpeechError,
    SpeechFailedError,
)
from .._generation import GenerationCompletions, check_items, prepare
from .._models import Speech
from ._args import (
    EXIT_API,
    EXIT_FAILED,
    EXIT_OK,
    EXIT_TIMEOUT,
    Parents,
    add_command,
    make_client,
    non_negative_int,
    positive_float,
    positive_int,
)
from ._output import Output, error_record

__all__ = [
    "GenerateProgress",
    "Manifest",
    "Plan",
    "generate",
    "read_items",
    "register",
]

MANIFEST = "manifest.json"
MANIFEST_VERSION = 1
#: Downloads running at once (they run beside the batch, never holding a job slot).
DOWNLOADS = 4


class UsageProblem(ValueError):
    """A bad FILE, DIR or manifest (exit code 2)."""


def register(sub: Any, parents: Parents) -> None:
    """``generate``."""
    p = add_command(
        sub,
        "generate",
        generate,
        help="turn a file of texts into audio files, resumably",
        parents=[parents.api],
    )
    p.description = (
        "Turn each line of FILE (text, or JSONL of create() settings) into DIR/<line>.mp3, at "
        "most --max-jobs jobs at once. Run it again after an interruption: DIR/manifest.json "
        "makes it skip finished lines and never bill a line twice."
    )
    p.add_argument("file", metavar="FILE", help="one text per line, or JSONL")
    p.add_argument("--voice-id", required=True, help="the voice of lines that do not name one")
    p.add_argument("--out", required=True, metavar="DIR", help="where the .mp3 files go")
    p.add_argument("--model", help="the model of lines that do not name one (default: the API's)")
    p.add_argument("--email", help="the account (default: one with free capacity)")
    p.add_argument("--max-jobs", type=positive_int, default=4, help="jobs at once, 1-8")
    p.add_argument(
        "--resubmit",
        type=non_negative_int,
        default=1,
        help="times a FAILED job is submitted again",
    )
    p.add_argument(
        "--timeout",
        type=positive_float,
        default=3600.0,
        metavar="SECONDS",
        help="one deadline for the whole batch",
    )


# -- the input file -------------------------------------------------------------------------------


def read_items(path: Path) -> list[tuple[int, str | dict[str, Any]]]:
    """``(line number, item)`` for every non-blank line of ``path``."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageProblem(f"cannot read {path}: {exc}") from None
    numbered = [(n, line) for n, line in enumerate(lines, start=1) if line.strip()]
    jsonl = path.suffix.lower() in (".jsonl", ".ndjson") or (
        bool(numbered) and all(line.lstrip().startswith("{") for _, line in numbered)
    )
    items: list[tuple[int, str | dict[str, Any]]] = []
    for number, line in numbered:
        if not jsonl:
            items.append((number, line.strip()))
            continue
        try:
            value = json.loads(line)
        except ValueError as exc:
            raise UsageProblem(f"{path}:{number}: not JSON: {exc}") from None
        if not isinstance(value, dict):
            raise UsageProblem(f"{path}:{number}: a JSONL line must be an object")
        items.append((number, value))
    if not items:
        raise UsageProblem(f"{path} has no items")
    return items


def _checked(
    path: Path, items: list[tuple[int, str | dict[str, Any]]], voice_id: str, settings: Any
) -> None:
    """Check each line as create() would, naming the line of a bad one."""
    for number, item in items:
        try:
            check_items([item], voice_id, settings)
        except (TypeError, ValueError) as exc:
            message = str(exc).removeprefix("item 0: ")
            raise UsageProblem(f"{path}:{number}: {message}") from None


# -- the manifest ---------------------------------------------------------------------------------


class Manifest:
    """``DIR/manifest.json``: line -> text, audio_ids, state and file; written atomically."""

    def __init__(self, directory: Path) -> None:
        self.path = directory / MANIFEST
        self.entries: dict[str, dict[str, Any]] = {}
        if self.path.exists():
            try:
                data = json.loads(self.path.read_text(encoding="utf-8"))
                entries = data["items"]
            except (OSError, ValueError, KeyError, TypeError) as exc:
                raise UsageProblem(f"{self.path} is not a manifest of this tool: {exc}") from None
            if data.get("version") != MANIFEST_VERSION or not isinstance(entries, dict):
                raise UsageProblem(f"{self.path} is not a manifest of this version of the tool")
            self.entries = entries

    def entry(self, line: int) -> dict[str, Any] | None:
        return self.entries.get(str(line))

    def update(self, line: int, **fields: Any) -> None:
        self.entries.setdefault(str(line), {}).update(fields)
        self.write()

    def write(self) -> None:
        """Replace the file atomically: a reader (or a crash) sees the old one or the new one."""
        temporary = self.path.with_name(f".{MANIFEST}.{os.getpid()}.tmp")
        payload = json.dumps(
            {"version": MANIFEST_VERSION, "items": self.entries}, indent=1, ensure_ascii=False
        )
        with open(temporary, "w", encoding="utf-8") as handle:
            handle.write(payload + "\n")
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, self.path)


# -- the live display -----------------------------------------------------------------------------


def _duration(seconds: float) -> str:
    seconds = max(0, round(seconds))
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours}h{minutes:02d}m"
    return f"{minutes}m{secs:02d}s" if minutes else f"{secs}s"


class GenerateProgress:
    """Done, running, queued and failed counts with an estimated time left.

    With rich and a terminal on ``stream``: a bar redrawn in place.  Otherwise one line per item
    that ends (none with ``--json``, where stdout gets a JSON line per item instead).
    """

    def __init__(
        self,
        total: int,
        out: Output,
        *,
        stream: IO[str],
        already_done: int = 0,
        already_failed: int = 0,
        clock: Callable[[], float] = time.monotonic,
        slots: int = 0,
    ) -> None:
        self.total = total
        self.done = already_done
        self.failed = already_failed
        self.running = 0
        self.queued = total - already_done - already_failed
        self._parallel = slots  # jobs at once: --max-jobs, or the most seen running
        self._job_starts: dict[object, float] = {}
        self._job_times: list[float] = []
        self._clock = clock
        self.started = clock()
        self.out = out
        self.stream = stream
        self.live: Any = None
        self.enabled = not out.json_lines

    def __enter__(self) -> GenerateProgress:
        if self.enabled and self.out.rich and self.stream.isatty():
            from rich.live import Live

            self.live = Live(
                get_renderable=self.render,
                console=self.out.console(self.stream),
                refresh_per_second=4,
                transient=False,
            )
            self.live.__enter__()
        return self

    def __exit__(self, *exc_info: object) -> None:
        if self.live is not None:
            self.live.refresh()
            self.live.__exit__(None, None, None)
            self.live = None

    def job_started(self, key: object) -> None:
        """A job was created for item ``key`` (its time is how long the item then takes)."""
        self._job_starts[key] = self._clock()

    def job_ended(self, key: object) -> None:
        """Item ``key`` ended: its time counts towards the estimate."""
        started = self._job_starts.pop(key, self.started)
        self._job_times.append(self._clock() - started)

    def eta(self) -> float | None:
        """Seconds left: the mean time of a job of this run, times the jobs left, over the jobs
        run at once (``None`` before any item ended)."""
        left = self.running + self.queued
        if self.done + self.failed >= self.total:
            return 0.0
        if not self._job_times:
            return None
        mean = sum(self._job_times) / len(self._job_times)
        return mean * max(left, 1) / max(self._parallel, 1)

    def counts(self, *, running: int, queued: int) -> None:
        """The batch's running jobs and queued items now."""
        self.running, self.queued = running, queued
        self._parallel = max(self._parallel, running)

    def status_line(self) -> str:
        eta = self.eta()
        return (
            f"done {self.done}/{self.total} · running {self.running} · queued {self.queued} · "
            f"failed {self.failed} · elapsed {_duration(self._clock() - self.started)} · "
            f"ETA {'-' if eta is None else _duration(eta)}"
        )

    def bar(self, width: int = 40) -> str:
        """A text bar of the items ended, and the share ended: ``███░░░ 50%``."""
        ended = self.done + self.failed
        filled = width * ended // self.total if self.total else width
        share = 100 * ended // self.total if self.total else 100
        return "█" * filled + "░" * (width - filled) + f" {share:>3d}%"

    def render(self) -> Any:
        """What the live display shows: the bar, then the counts (plain text: any terminal)."""
        from rich.text import Text

        return Text(f"{self.bar()}\n{self.status_line()}")

    def ended(self, line: int, what: str) -> None:
        """An item ended: ``what`` says how (for the line-per-item mode)."""
        if not self.enabled or self.live is not None:
            return
        finished = self.done + self.failed
        self.stream.write(f"[{finished:>{len(str(self.total))}}/{self.total}] line {line}: {what}")
        self.stream.write(f"  ({self.status_line()})\n")
        self.stream.flush()


# -- the command ----------------------------------------------------------------------------------


class Plan:
    """What a run has to do, from FILE and the manifest left by an earlier run."""

    def __init__(self, args: argparse.Namespace) -> None:
        self.path = Path(args.file)
        self.directory = Path(args.out)
        self.settings = {"model": args.model, "email": args.email}
        self.items = read_items(self.path)
        _checked(self.path, self.items, args.voice_id, self.settings)
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise UsageProblem(f"cannot create {self.directory}: {exc}") from None
        self.manifest = manifest = Manifest(self.directory)
        self.lines = [number for number, _ in self.items]
        self.existing: dict[int, list[str]] = {}
        self.lookup: list[int] = []
        self.skip: list[int] = []
        self.claimed: set[str] = set()
        self.done = self.failed = 0
        for index, (number, item) in enumerate(self.items):
            entry = manifest.entry(number)
            text = item if isinstance(item, str) else item.get("text")
            if entry is None:
                manifest.entries[str(number)] = {"text": text, "state": "queued", "audio_ids": []}
                continue
            if entry.get("text") != text:
                raise UsageProblem(
                    f"{self.path}:{number} changed since {manifest.path} was written; "
                    "use another --out directory"
                )
            ids = [str(audio_id) for audio_id in entry.get("audio_ids", [])]
            self.claimed.update(ids)
            state = entry.get("state")
            if state == "completed" and (self.directory / f"{number}.mp3").exists():
                self.skip.append(index)
                self.done += 1
            elif state == "failed":
                # Every try FAILED: another one is billed, so only on request (delete the entry).
                self.skip.append(index)
                self.failed += 1
            else:
                # Queued, running (its clip not downloaded yet), or ended by an error: tried again.
                # Its jobs are waited for rather than created again, and a create that may have
                # landed unrecorded is looked for in the account's list first.
                if ids:
                    self.existing[index] = ids
                if state == "submitting" or entry.get("job_may_exist"):
                    self.lookup.append(index)
        manifest.write()


async def generate(args: argparse.Namespace, out: Output) -> int:
    """``generate FILE --voice-id V --out DIR``."""

    plan = Plan(args)
    items, lines, manifest, directory = plan.items, plan.lines, plan.manifest, plan.directory
    done, failed, skip = plan.done, plan.failed, plan.skip

    def on_submit(index: int) -> None:
        manifest.update(lines[index], state="submitting")

    def on_created(index: int, audio_id: str) -> None:
        progress.job_started(index)
        entry = manifest.entries[str(lines[index])]
        manifest.update(lines[index], state="running", audio_ids=[*entry["audio_ids"], audio_id])

    exit_code = EXIT_OK
    with GenerateProgress(
        len(items),
        out,
        stream=out.errors,
        already_done=done,
        already_failed=failed,
        slots=args.max_jobs,
    ) as progress:
        if skip and not out.json_lines:
            out.errors.write(f"resuming: {done} lines done and {failed} failed before\n")
        async with make_client(args) as api:
            generation = prepare(
                api,
                [item for _, item in items],
                voice_id=args.voice_id,
                settings=plan.settings,
                max_jobs=args.max_jobs,
                resubmit=args.resubmit,
                timeout=args.timeout,
                on_update=None,
                on_created=on_created,
                existing=plan.existing,
                lookup=plan.lookup,
                claimed=plan.claimed,
                skip=skip,
                on_submit=on_submit,
            )
            downloads = anyio.CapacityLimiter(DOWNLOADS)
            codes: list[int] = []

            def refresh() -> None:
                progress.counts(running=generation.running, queued=generation.queued)

            async def finish(index: int, result: Speech | SpeechError) -> None:
                number = lines[index]
                record: dict[str, Any] = {"line": number}
                ids = list(manifest.entries[str(number)]["audio_ids"])
                if isinstance(result, Speech) and result.is_completed:
                    target = directory / f"{number}.mp3"
                    try:
                        async with downloads:
                            await api.download(result, target)
                    except SpeechError as exc:
                        # The job is done and paid for: the next run downloads it again.
                        message = f"download failed: {type(exc).__name__}: {exc}"
                        manifest.update(number, state="running", error=message)
                        progress.failed += 1
                        progress.job_ended(index)
                        refresh()
                        codes.append(EXIT_API)
                        progress.ended(number, message)
                        if out.json_lines:
                            out.json({**record, "audio_ids": ids, **error_record(exc)})
                        return
                    else:
                        manifest.update(
                            number, state="completed", audio_id=result.audio_id, file=target.name
                        )
                        progress.done += 1
                        progress.job_ended(index)
                        refresh()
                        progress.ended(number, f"COMPLETED -> {target}")
                        record.update(
                            status="COMPLETED",
                            audio_id=result.audio_id,
                            file=str(target),
                            audio_ids=ids,
                        )
                        if out.json_lines:
                            out.json(record)
                        return
                failed_job = isinstance(result, SpeechFailedError) or (
                    isinstance(result, Speech) and result.is_failed
                )
                if isinstance(result, Speech):
                    message = f"final as {result.status_name}: {result.fail_reason or ''}".strip()
                else:
                    message = f"{type(result).__name__}: {result}"
                manifest.update(
                    number,
                    state="failed" if failed_job else "error",
                    error=message,
                    job_may_exist=isinstance(result, SpeechError) and bool(result.job_may_exist),
                )
                progress.failed += 1
                progress.job_ended(index)
                refresh()
                codes.append(EXIT_FAILED if failed_job else EXIT_API)
                progress.ended(number, message)
                if out.json_lines:
                    record.update(audio_ids=ids)
                    if isinstance(result, Speech):
                        record.update(status=result.status_name, audio_id=result.audio_id)
                    else:
                        record.update(error_record(result))
                    out.json(record)

            completions = GenerationCompletions(api, generation)
            batch_error: BatchGenerationError | None = None
            async with anyio.create_task_group() as tg:
                refresh()
                try:
                    async for index, result in completions:
                        refresh()
                        tg.start_soon(finish, index, result)
                except BatchGenerationError as exc:
                    batch_error = exc  # the downloads under way still finish
                refresh()
    if batch_error is not None:
        out.error(batch_error)
        return EXIT_TIMEOUT if batch_error.timed_out else EXIT_API
    if codes:
        exit_code = EXIT_API if EXIT_API in codes else EXIT_FAILED
    elif failed:
        exit_code = EXIT_FAILED
    out.message(
        f"{progress.done} of {len(items)} lines done, {progress.failed} failed; "
        f"files and {MANIFEST} in {directory}"
    )
    return exit_code
