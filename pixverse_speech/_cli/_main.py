"""The ``pixverse-speech`` command: argument parsing, dispatch and exit codes.

Exit codes:

==== ==========================================================
0    success
1    an unexpected internal error (run again with ``--debug``)
2    a usage error: bad arguments, no token
3    an API or connection error
4    a job ended FAILED
5    a wait reached its deadline
130  interrupted (Ctrl-C)
==== ==========================================================
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Awaitable, Callable, Sequence
from typing import IO

import anyio

from .._client import DEFAULT_BASE_URL, TOKEN_ENV_VAR, AsyncSpeechAPI
from .._exceptions import SpeechError, SpeechFailedError, WaitTimeoutError
from .._version import __version__
from ._output import Output

__all__ = [
    "EXIT_API",
    "EXIT_ERROR",
    "EXIT_FAILED",
    "EXIT_INTERRUPTED",
    "EXIT_OK",
    "EXIT_TIMEOUT",
    "EXIT_USAGE",
    "main",
]

EXIT_OK = 0
EXIT_ERROR = 1
EXIT_USAGE = 2
EXIT_API = 3
EXIT_FAILED = 4
EXIT_TIMEOUT = 5
EXIT_INTERRUPTED = 130

Command = Callable[[argparse.Namespace, Output], Awaitable[int]]


class UsageError(Exception):
    """Bad arguments found after parsing (exit code 2)."""


def exit_code_for(exc: BaseException) -> int:
    """The exit code that reports ``exc``."""
    if isinstance(exc, SpeechFailedError):
        return EXIT_FAILED
    if isinstance(exc, WaitTimeoutError):
        return EXIT_TIMEOUT
    if isinstance(exc, SpeechError):
        return EXIT_API
    if isinstance(exc, (UsageError, ValueError, TypeError)):
        return EXIT_USAGE
    return EXIT_ERROR


def _positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be positive: {text!r}")
    return value


def _int_at_least(minimum: int) -> Callable[[str], int]:
    """An argparse type: an integer of at least ``minimum``."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"not an integer: {text!r}") from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"must be at least {minimum}: {text!r}")
        return value

    return parse


_positive_int = _int_at_least(1)
_non_negative_int = _int_at_least(0)


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of every subcommand."""
    from . import _commands, _generate

    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--token", help=f"the useapi.net API token (default: ${TOKEN_ENV_VAR})", default=None
    )
    common.add_argument(
        "--base-url", default=DEFAULT_BASE_URL, help="the API root (default: %(default)s)"
    )
    common.add_argument(
        "--request-timeout",
        type=_positive_float,
        default=30.0,
        metavar="SECONDS",
        help="timeout of one HTTP request (default: %(default)s)",
    )
    common.add_argument(
        "--json", action="store_true", help="print one JSON object per line instead of tables"
    )
    common.add_argument(
        "--debug", action="store_true", help="log every request and show tracebacks"
    )

    parser = argparse.ArgumentParser(
        prog="pixverse-speech",
        description="Work with PixVerse text-to-speech jobs on useapi.net.",
        epilog="Exit codes: 0 ok, 1 internal error, 2 usage, 3 API or connection error, "
        "4 a job failed, 5 a wait timed out, 130 interrupted.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("list", parents=[common], help="list jobs, newest first")
    p.add_argument("--email", help="the account (required when several are configured)")
    p.add_argument("--limit", type=_positive_int, default=None, help="jobs per page")
    p.add_argument("--offset", type=_non_negative_int, default=None, help="where to start")
    p.add_argument("--all", action="store_true", help="every job, fetching all pages")
    p.set_defaults(handler=_commands.list_jobs)

    p = sub.add_parser("get", parents=[common], help="show one job")
    p.add_argument("audio_id")
    p.set_defaults(handler=_commands.get_job)

    p = sub.add_parser("wait", parents=[common], help="wait until jobs are final")
    p.add_argument("audio_ids", nargs="+", metavar="AUDIO_ID")
    p.add_argument("--timeout", type=_positive_float, default=600.0, help="deadline in seconds")
    p.add_argument("--poll-interval", type=_positive_float, default=1.0, metavar="SECONDS")
    p.add_argument("--max-poll-interval", type=_positive_float, default=4.0, metavar="SECONDS")
    p.add_argument("--concurrency", type=_positive_int, default=8)
    p.set_defaults(handler=_commands.wait_jobs)

    _commands.add_catalog_commands(sub, common)
    _generate.add_generate_command(sub, common)

    p = sub.add_parser(
        "demo",
        parents=[common],
        help="run the client against the built-in fake API (no token, no network)",
    )
    p.add_argument(
        "--speed",
        type=_positive_float,
        default=1.0,
        help="how fast the demo's jobs finish: 2 is twice as fast (default: %(default)s)",
    )
    p.set_defaults(handler=_commands.demo)
    return parser


def make_client(args: argparse.Namespace) -> AsyncSpeechAPI:
    """The client the arguments describe; a missing token is a usage error."""
    token = args.token if args.token is not None else os.environ.get(TOKEN_ENV_VAR)
    if not token or not token.strip():
        raise UsageError(f"no API token: pass --token or set {TOKEN_ENV_VAR}")
    return AsyncSpeechAPI(token, base_url=args.base_url, timeout=args.request_timeout)


def main(
    argv: Sequence[str] | None = None,
    *,
    stdout: IO[str] | None = None,
    stderr: IO[str] | None = None,
) -> int:
    """Run the command; returns its exit code."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # argparse's own exit: --help, --version or a usage error
        return int(exc.code or 0) if not isinstance(exc.code, str) else EXIT_USAGE
    out = Output(json_lines=args.json, stream=stdout, errors=stderr)
    if args.debug:
        logging.basicConfig(
            level=logging.DEBUG,
            stream=stderr or sys.stderr,
            format="%(asctime)s %(name)s %(levelname)s %(message)s",
        )
    handler: Command = args.handler
    try:
        return anyio.run(handler, args, out)
    except KeyboardInterrupt:
        out.errors.write("interrupted\n")
        return EXIT_INTERRUPTED
    except Exception as exc:
        if args.debug:
            raise
        out.error(exc)
        return exit_code_for(exc)
