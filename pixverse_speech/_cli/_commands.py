"""The subcommands: each takes the parsed arguments and an :class:`Output`, returns an exit code."""

from __future__ import annotations

import argparse
import time
from typing import Any

from .._exceptions import SpeechError, SpeechFailedError, WaitTimeoutError
from .._models import Speech
from ._output import Output, error_record
from ._progress import Progress, Summary

__all__ = [
    "add_catalog_commands",
    "create_job",
    "demo",
    "get_job",
    "list_jobs",
    "list_models",
    "list_voices",
    "wait_jobs",
]


async def list_jobs(args: argparse.Namespace, out: Output) -> int:
    """``list``: one page, or every page with ``--all``."""
    from ._main import make_client

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
    from ._main import make_client

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
        rows = []
        for audio_id, result in zip(ids, results, strict=True):
            if isinstance(result, Speech):
                detail = result.url if result.is_completed else (result.fail_reason or "")
                rows.append([audio_id, result.status_name, detail or "-"])
            else:
                rows.append([audio_id, type(result).__name__, str(result)])
        out.table(["AUDIO ID", "RESULT", "DETAIL"], rows, title=title)
        out.message(str(Summary(results, time.monotonic() - started)))
    return batch_exit_code(results)


async def wait_jobs(args: argparse.Namespace, out: Output) -> int:
    """``wait ID...``: wait for every job at once with a live display, then a summary."""
    from ._main import make_client

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


def add_catalog_commands(sub: Any, common: argparse.ArgumentParser) -> None:
    """``create``, ``voices`` and ``models``."""
    p = sub.add_parser("create", parents=[common], help="start a speech job")
    p.add_argument("text", help="the text to speak")
    p.add_argument("--voice-id", required=True, help="a voice_id from the voices command")
    p.add_argument("--model", help="default: the API's (speech-2.8-hd)")
    p.add_argument("--email", help="the account (default: one with free capacity)")
    p.add_argument("--language-code")
    p.add_argument("--speed", type=float)
    p.add_argument("--volume", type=float, help="MiniMax only: 0-10")
    p.add_argument("--pitch", type=int, help="MiniMax only: -12..12")
    p.add_argument("--emotion", help="MiniMax only")
    p.add_argument("--stability", type=float, help="ElevenLabs only: 0-1")
    p.add_argument("--similarity-boost", type=float, help="ElevenLabs only: 0-1")
    p.add_argument("--wait", action="store_true", help="wait until the job is final")
    p.add_argument("--timeout", type=float, default=600.0, help="deadline of --wait in seconds")
    p.set_defaults(handler=create_job)

    p = sub.add_parser("voices", parents=[common], help="list the voices of a model")
    p.add_argument("--model")
    p.add_argument("--language")
    p.add_argument("--email")
    p.set_defaults(handler=list_voices)

    p = sub.add_parser("models", parents=[common], help="list the models and their limits")
    p.set_defaults(handler=list_models)


async def create_job(args: argparse.Namespace, out: Output) -> int:
    """``create TEXT --voice-id V``: start a job, and with ``--wait`` wait for it."""
    from ._main import make_client

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
        if args.wait:
            out.message(f"created {speech.audio_id}; waiting")
            speech = await api.wait_until_final(speech.audio_id, timeout=args.timeout)
        out.record(speech)
    return 0


async def list_voices(args: argparse.Namespace, out: Output) -> int:
    """``voices``: the voices of a model."""
    from .._converter import converter
    from ._main import make_client

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
    from ._main import make_client

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


async def demo(args: argparse.Namespace, out: Output) -> int:
    """``demo``: the real client against the built-in fake API."""
    from ._demo import run_demo

    return await run_demo(out, speed=args.speed)
