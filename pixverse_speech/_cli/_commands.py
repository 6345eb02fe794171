"""The subcommands: each takes the parsed arguments and an :class:`Output`, returns an exit code."""

from __future__ import annotations

import argparse
import time
from typing import Any

from .._exceptions import SpeechError, SpeechFailedError, WaitTimeoutError
from .._models import Speech
from ._args import (
    Parents,
    add_command,
    make_client,
    non_negative_int,
    positive_float,
    positive_int,
)
from ._output import Output, error_record
from ._progress import Progress, Summary
from ._table import Column

__all__ = [
    "create_job",
    "get_job",
    "list_jobs",
    "list_models",
    "list_voices",
    "register",
    "result_cells",
    "wait_jobs",
]


def register(sub: Any, parents: Parents) -> None:
    """``list``, ``get``, ``wait``, ``create``, ``voices`` and ``models``."""
    api = [parents.api]
    p = add_command(sub, "list", list_jobs, help="list jobs, newest first", parents=api)
    p.add_argument(
        "--email", help="the account (default: the API's; required when several are configured)"
    )
    p.add_argument("--limit", type=positive_int, help="jobs per page (default: the API's, 50)")
    p.add_argument("--offset", type=non_negative_int, help="where to start (default: 0)")
    p.add_argument("--all", action="store_true", help="every job, fetching all pages")

    p = add_command(sub, "get", get_job, help="show one job", parents=api)
    p.add_argument("audio_id", help="the job's audio_id")

    p = add_command(sub, "wait", wait_jobs, help="wait until jobs are final", parents=api)
    p.add_argument("audio_ids", nargs="+", metavar="AUDIO_ID", help="the jobs to wait for")
    p.add_argument(
        "--timeout",
        type=positive_float,
        default=600.0,
        metavar="SECONDS",
        help="one deadline for all the jobs",
    )
    p.add_argument(
        "--poll-interval",
        type=positive_float,
        default=1.0,
        metavar="SECONDS",
        help="the first pause between polls",
    )
    p.add_argument(
        "--max-poll-interval",
        type=positive_float,
        default=4.0,
        metavar="SECONDS",
        help="the longest pause between polls",
    )
    p.add_argument(
        "--concurrency", type=positive_int, default=8, help="the most requests in flight at once"
    )

    add_catalog_commands(sub, parents)


async def list_jobs(args: argparse.Namespace, out: Output) -> int:
    """``list``: one page, or every page with ``--all``."""
    async with make_client(args) as api:
        if args.all:
            speeches = [
                speech
                async for speech in api.iter_speech(
                    email=args.email, page_size=args.limit or 50, offset=args.offset or 0
                )
            ]
            count = out.speeches(speeches)
            out.message(f"{count} jobs")
            return 0
        page = await api.list(email=args.email, limit=args.limit, offset=args.offset)
        out.speeches(page.data)
        if page.has_more:
            out.message(f"more from --offset {page.next_offset}")
    return 0


async def get_job(args: argparse.Namespace, out: Output) -> int:
    """``get ID``: every field of one job."""
    async with make_client(args) as api:
        out.record(await api.get(args.audio_id))
    return 0


def batch_exit_code(results: list[Speech | SpeechError]) -> int:
    """The exit code of a batch wait: the most serious way any job ended."""
    from ._main import EXIT_API, EXIT_FAILED, EXIT_OK, EXIT_TIMEOUT

    errors = [r for r in results if isinstance(r, SpeechError)]
    if any(not isinstance(e, (SpeechFailedError, WaitTimeoutError)) for e in errors):
        return EXIT_API
    if any(isinstance(e, WaitTimeoutError) for e in errors):
        return EXIT_TIMEOUT
    if any(isinstance(e, SpeechFailedError) for e in errors) or any(
        isinstance(r, Speech) and r.is_failed for r in results
    ):
        return EXIT_FAILED
    return EXIT_OK


def result_cells(result: Speech | SpeechError) -> tuple[str, str]:
    """What a batch result shows: COMPLETED, FAILED, TIMED OUT or ERROR, and the detail."""
    if isinstance(result, Speech):
        if result.is_completed:
            return "COMPLETED", result.url or "-"
        if result.is_failed:
            return "FAILED", result.fail_reason or result.fail_code or "-"
        return result.status_name, "-"
    if isinstance(result, SpeechFailedError):
        speech = result.speech
        return "FAILED", speech.fail_reason or speech.fail_code or "-"
    if isinstance(result, WaitTimeoutError):
        last = result.last.status_name if result.last is not None else "never seen"
        return "TIMED OUT", f"last seen {last}"
    return "ERROR", f"{type(result).__name__}: {result}"


def report_batch(
    ids: list[str],
    results: list[Speech | SpeechError],
    out: Output,
    started: float,
    *,
    title: str = "",
) -> int:
    """Print the outcome of a batch wait, one row or JSON line per id; return the exit code."""
    if out.json_lines:
        from .._converter import to_wire

        for audio_id, result in zip(ids, results, strict=True):
            out.json(
                to_wire(result) if isinstance(result, Speech) else error_record(result, audio_id)
            )
    else:
        rows = [
            [audio_id, *result_cells(result)] for audio_id, result in zip(ids, results, strict=True)
        ]
        columns = [Column("AUDIO ID", "id"), Column("RESULT", "fixed"), Column("DETAIL", "text")]
        out.table(columns, rows, title=title)
        out.message(str(Summary(results, time.monotonic() - started)))
    return batch_exit_code(results)


async def wait_jobs(args: argparse.Namespace, out: Output) -> int:
    """``wait ID...``: wait for every job at once with a live display, then a summary."""
    ids: list[str] = list(args.audio_ids)
    started = time.monotonic()
    async with make_client(args) as api:
        with Progress(ids, out, stream=out.errors) as progress:
            results = await api.wait_many(
                ids,
                concurrency=args.concurrency,
                timeout=args.timeout,
                poll_interval=args.poll_interval,
                max_poll_interval=args.max_poll_interval,
                on_update=progress.update,
            )
    return report_batch(ids, results, out, started)


def add_catalog_commands(sub: Any, parents: Parents) -> None:
    """``create``, ``voices`` and ``models``."""
    api = [parents.api]
    p = add_command(sub, "create", create_job, help="start a speech job", parents=api)
    p.add_argument("text", help="the text to speak")
    p.add_argument("--voice-id", required=True, help="a voice_id from the voices command")
    p.add_argument("--model", help="the model (default: the API's, speech-2.8-hd)")
    p.add_argument("--email", help="the account (default: one with free capacity)")
    p.add_argument("--language-code", help="the language, e.g. en (default: the model's detection)")
    p.add_argument(
        "--speed", type=float, help="MiniMax 0.5-2, ElevenLabs 0.7-1.2 (default: the API's, 1)"
    )
    p.add_argument("--volume", type=float, help="MiniMax only: 0-10 (default: the API's)")
    p.add_argument("--pitch", type=int, help="MiniMax only: -12..12 (default: the API's)")
    p.add_argument("--emotion", help="MiniMax only (default: the API's)")
    p.add_argument("--stability", type=float, help="ElevenLabs only: 0-1 (default: the API's)")
    p.add_argument(
        "--similarity-boost", type=float, help="ElevenLabs only: 0-1 (default: the API's)"
    )
    p.add_argument("--wait", action="store_true", help="wait until the job is final")
    p.add_argument(
        "--timeout",
        type=positive_float,
        default=600.0,
        metavar="SECONDS",
        help="deadline of --wait",
    )

    p = add_command(sub, "voices", list_voices, help="list the voices of a model", parents=api)
    p.add_argument("--model", help="the model (default: the API's, speech-2.8-hd)")
    p.add_argument("--language", help="a language filter (default: the API's, auto)")
    p.add_argument("--email", help="the account (default: the API's)")

    add_command(sub, "models", list_models, help="list the models and their limits", parents=api)


async def create_job(args: argparse.Namespace, out: Output) -> int:
    """``create TEXT --voice-id V``: start a job, and with ``--wait`` wait for it."""
    async with make_client(args) as api:
        speech = await api.create(
            args.text,
            args.voice_id,
            model=args.model,
            email=args.email,
            language_code=args.language_code,
            speed=args.speed,
            volume=args.volume,
            pitch=args.pitch,
            emotion=args.emotion,
            stability=args.stability,
            similarity_boost=args.similarity_boost,
        )
        # From here on the job exists (and is billed): any error names it.
        out.created = speech.audio_id
        if args.wait:
            out.message(f"created {speech.audio_id}; waiting")
            speech = await api.wait_until_final(speech.audio_id, timeout=args.timeout)
        out.record(speech)
    return 0


async def list_voices(args: argparse.Namespace, out: Output) -> int:
    """``voices``: the voices of a model."""
    from .._converter import converter

    async with make_client(args) as api:
        voices = await api.voices(model=args.model, language=args.language, email=args.email)
    if out.json_lines:
        for voice in voices:
            out.json(converter.unstructure(voice))
        return 0
    out.table(
        ["VOICE ID", "NAME", "PROVIDER", "GENDER", "AGE", "ACCENT", "STYLE"],
        [
            [
                voice.voice_id or "-",
                voice.display_name or "-",
                voice.provider or "-",
                voice.gender or "-",
                voice.age or "-",
                voice.accent or "-",
                ", ".join(voice.style_tags) or "-",
            ]
            for voice in voices
        ],
    )
    return 0


async def list_models(args: argparse.Namespace, out: Output) -> int:
    """``models``: every model with its limits."""
    from .._converter import converter

    async with make_client(args) as api:
        models = await api.models()
    if out.json_lines:
        out.json(converter.unstructure(models))
        return 0
    rows = []
    for info in models.models:
        default = " (default)" if info.model == models.default_model else ""
        rows.append(
            [
                (info.model or "-") + default,
                info.provider or "-",
                str(info.max_characters or "-"),
                ", ".join(info.supported_language_codes[:8])
                + (" ..." if len(info.supported_language_codes) > 8 else ""),
                ", ".join(info.emotions) or "-",
            ]
        )
    out.table(["MODEL", "PROVIDER", "MAX CHARACTERS", "LANGUAGES", "EMOTIONS"], rows)
    return 0
