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
import importlib
import json
import logging
import sys
import traceback
from collections.abc import Sequence
from typing import IO

import anyio

from .._exceptions import SpeechError, SpeechFailedError, WaitTimeoutError
from .._version import __version__
from ._args import (
    EXIT_API,
    EXIT_ERROR,
    EXIT_FAILED,
    EXIT_INTERRUPTED,
    EXIT_OK,
    EXIT_TIMEOUT,
    EXIT_USAGE,
    Command,
    HelpFormatter,
    Parents,
    Parser,
    UsageError,
    add_connection_options,
    add_output_options,
    hide_secrets,
    make_client,
)
from ._output import Output

__all__ = [
    "COMMAND_MODULES",
    "EXIT_API",
    "EXIT_ERROR",
    "EXIT_FAILED",
    "EXIT_INTERRUPTED",
    "EXIT_OK",
    "EXIT_TIMEOUT",
    "EXIT_USAGE",
    "UsageError",
    "build_parser",
    "main",
    "make_client",
]


#: The modules that add subcommands, in the order ``--help`` lists them.  Each has a
#: ``register(sub, parents)`` function calling ``_args.add_command`` once per subcommand; to add
#: a subcommand, write such a module and list it here.
COMMAND_MODULES: tuple[str, ...] = ("_commands", "_generate", "_demo")


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


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of every subcommand."""
    parser = Parser(
        prog="pixverse-speech",
        description="Work with PixVerse text-to-speech jobs on useapi.net.",
        epilog="Exit codes: 0 ok, 1 internal error, 2 usage, 3 API or connection error, "
        "4 a job failed, 5 a wait timed out, 130 interrupted.",
        formatter_class=HelpFormatter,
        allow_abbrev=False,
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    # Also before the subcommand: `pixverse-speech --json list` as well as `list --json`.
    add_output_options(parser, suppress=False)
    add_connection_options(parser, suppress=False)
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    parents = Parents()
    for name in COMMAND_MODULES:
        importlib.import_module(f".{name}", __package__).register(sub, parents)
    return parser


def _usage_error(exc: UsageError, argv: Sequence[str], json_mode: bool, stderr: IO[str]) -> int:
    message = hide_secrets(str(exc), argv)
    if json_mode:
        record: dict[str, object] = {"type": "UsageError", "message": message}
        if exc.usage:
            record["usage"] = exc.usage
        stderr.write(json.dumps({"error": record}) + "\n")
    else:
        if exc.usage:
            stderr.write(exc.usage + "\n")
        stderr.write(f"error: {message}\n")
    stderr.flush()
    return EXIT_USAGE


def main(
    argv: Sequence[str] | None = None,
    *,
    stdout: IO[str] | None = None,
    stderr: IO[str] | None = None,
) -> int:
    """Run the command; returns its exit code."""
    argv = list(sys.argv[1:] if argv is None else argv)
    errors = stderr or sys.stderr
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except UsageError as exc:
        # Parsing failed, so whether --json was meant is read from the arguments themselves.
        return _usage_error(exc, argv, "--json" in argv, errors)
    except SystemExit as exc:  # --help or --version
        return int(exc.code or 0) if not isinstance(exc.code, str) else EXIT_USAGE
    out = Output(json_lines=args.json, stream=stdout, errors=errors)
    if args.debug:
        logging.basicConfig(
            level=logging.DEBUG,
            stream=errors,
            format="%(asctime)s %(name)s %(levelname)s %(message)s",
        )
    handler: Command = args.handler
    try:
        return anyio.run(handler, args, out)
    except KeyboardInterrupt:
        note = f"; job {out.created} was created" if out.created else ""
        errors.write(f"interrupted{note}\n")
        return EXIT_INTERRUPTED
    except UsageError as exc:
        return _usage_error(exc, argv, args.json, errors)
    except (ValueError, TypeError) as exc:
        # The library refused an argument (a bad --base-url, a text too long for its model).
        if args.debug:
            errors.write(hide_secrets("".join(traceback.format_exception(exc)), argv))
        return _usage_error(UsageError(str(exc)), argv, args.json, errors)
    except Exception as exc:
        if args.debug:
            # The traceback helps; the exit code stays the documented one.
            errors.write(hide_secrets("".join(traceback.format_exception(exc)), argv))
        out.error(exc)
        return exit_code_for(exc)
