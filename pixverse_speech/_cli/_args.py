"""The command's argument parsing, shared by every subcommand module.

A subcommand module has a ``register(sub, parents)`` function that calls :func:`add_command` for
each of its subcommands; ``_main.COMMAND_MODULES`` lists the modules.  Every argument is checked
here, by its argparse type, so that a command never sends a request and only then finds out that
an argument was bad.
"""

from __future__ import annotations

import argparse
import math
import os
import re
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, NoReturn

from .._client import DEFAULT_BASE_URL, TOKEN_ENV_VAR, AsyncSpeechAPI
from .._config import BASE_URL_ENV_VAR
from ._output import Output

__all__ = [
    "EXIT_API",
    "EXIT_ERROR",
    "EXIT_FAILED",
    "EXIT_INTERRUPTED",
    "EXIT_OK",
    "EXIT_TIMEOUT",
    "EXIT_USAGE",
    "Command",
    "Parents",
    "Parser",
    "UsageError",
    "add_command",
    "hide_secrets",
    "int_at_least",
    "make_client",
    "non_negative_int",
    "positive_float",
    "positive_int",
]

#: The exit codes of every command (documented in docs/cli.md).
EXIT_OK = 0
EXIT_ERROR = 1
EXIT_USAGE = 2
EXIT_API = 3
EXIT_FAILED = 4
EXIT_TIMEOUT = 5
EXIT_INTERRUPTED = 130

Command = Callable[[argparse.Namespace, Output], Awaitable[int]]

#: The request timeout when ``--request-timeout`` is not given.
DEFAULT_REQUEST_TIMEOUT = 30.0

# A useapi.net token looks like an audio id's start (``user:<n>-``) but is not an audio id.
_TOKEN_LIKE = re.compile(r"^user:\d+-(?!pixverse:)\S{4,}$")


class UsageError(Exception):
    """Bad arguments (exit code 2); ``usage`` is the usage line of the command, when known."""

    def __init__(self, message: str, usage: str | None = None) -> None:
        super().__init__(message)
        self.usage = usage


class Parser(argparse.ArgumentParser):
    """An ``ArgumentParser`` whose errors are exceptions, never printed argv values.

    argparse prints an unrecognised argument as given: after a misplaced ``--token T`` or a
    misspelt ``--tokn T`` that is the token.  Here the values of unrecognised arguments are never
    shown, only the option names, and ``main`` masks every token it knows of in any message.
    """

    def error(self, message: str) -> NoReturn:
        raise UsageError(f"{self.prog}: {message}", usage=self.format_usage().strip())

    def parse_args(  # type: ignore[override]
        self, args: Sequence[str] | None = None, namespace: argparse.Namespace | None = None
    ) -> argparse.Namespace:
        parsed, extras = self.parse_known_args(args, namespace)
        if extras:
            shown = [arg.split("=", 1)[0] if arg.startswith("-") else "…" for arg in extras]
            command = getattr(parsed, "command", None)
            where = f"{command} takes no" if command else "unrecognized arguments:"
            self.error(f"{where} {' '.join(shown)} (values not shown)")
        return parsed


class HelpFormatter(argparse.HelpFormatter):
    """Every option's help ends with its default, unless the help already says it."""

    def _get_help_string(self, action: argparse.Action) -> str | None:
        text = action.help or ""
        if "default" in text or not action.option_strings or action.help == argparse.SUPPRESS:
            return text
        if action.required:
            return text + " (required)"
        if isinstance(action, (argparse._StoreTrueAction, argparse._VersionAction)):
            return text if isinstance(action, argparse._VersionAction) else text + " (default: off)"
        if action.default is None or action.default == argparse.SUPPRESS:
            return text
        return text + " (default: %(default)s)"


def hide_secrets(text: str, argv: Sequence[str]) -> str:
    """``text`` with every token the arguments or the environment hold masked."""
    secrets: set[str] = set()
    env_token = os.environ.get(TOKEN_ENV_VAR, "").strip()
    if env_token:
        secrets.add(env_token)
    for index, arg in enumerate(argv):
        name, has_value, value = arg.partition("=")
        if name and len(name) > 2 and "--token".startswith(name):
            if has_value:
                secrets.add(value)
            elif index + 1 < len(argv):
                secrets.add(argv[index + 1])
        if _TOKEN_LIKE.match(arg):
            secrets.add(arg)
    for secret in sorted((s for s in secrets if len(s) >= 4), key=len, reverse=True):
        text = text.replace(secret, "[REDACTED]")
    return text


def positive_float(text: str) -> float:
    """An argparse type: a number above zero (``nan`` is not one)."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if math.isnan(value) or not value > 0:
        raise argparse.ArgumentTypeError(f"must be a positive number: {text!r}")
    return value


def int_at_least(minimum: int) -> Callable[[str], int]:
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


positive_int = int_at_least(1)
non_negative_int = int_at_least(0)


class Parents:
    """The option sets subcommands share.

    ``api``: the connection options and the output options, for commands that talk to the API.
    ``output``: ``--json`` and ``--debug`` only (for ``demo``, which talks to no API).  On a
    subcommand they default to "not given", so that ``--json list`` and ``list --json`` both work.
    """

    def __init__(self) -> None:
        self.output = Parser(add_help=False, allow_abbrev=False)
        add_output_options(self.output, suppress=True)
        self.api = Parser(add_help=False, allow_abbrev=False, parents=[self.output])
        add_connection_options(self.api, suppress=True)


def add_output_options(parser: argparse.ArgumentParser, *, suppress: bool) -> None:
    """``--json`` and ``--debug``; ``suppress``: leave them out of the namespace when not given."""
    off: Any = argparse.SUPPRESS if suppress else False
    parser.add_argument(
        "--json",
        action="store_true",
        default=off,
        help="print one JSON object per line instead of tables (default: off)",
    )
    parser.add_argument(
        "--debug",
        action="store_true",
        default=off,
        help="log every request to stderr and show a traceback on error (default: off)",
    )


def add_connection_options(parser: argparse.ArgumentParser, *, suppress: bool) -> None:
    """``--token``, ``--base-url`` and ``--request-timeout``."""
    unset: Any = argparse.SUPPRESS if suppress else None
    parser.add_argument(
        "--token",
        default=unset,
        help=f"the useapi.net API token (default: ${TOKEN_ENV_VAR})",
    )
    parser.add_argument(
        "--base-url",
        default=unset,
        metavar="URL",
        help=f"the API root (default: ${BASE_URL_ENV_VAR}, else {DEFAULT_BASE_URL})",
    )
    parser.add_argument(
        "--request-timeout",
        type=positive_float,
        default=unset,
        metavar="SECONDS",
        help=f"timeout of one HTTP request (default: {DEFAULT_REQUEST_TIMEOUT:g})",
    )


def add_command(
    sub: Any,
    name: str,
    handler: Command,
    *,
    help: str,
    parents: Sequence[argparse.ArgumentParser],
) -> argparse.ArgumentParser:
    """A subcommand's parser, with the shared options of ``parents``; ``handler`` runs it."""
    parser: argparse.ArgumentParser = sub.add_parser(
        name,
        parents=list(parents),
        help=help,
        description=help[:1].upper() + help[1:] + ".",
        formatter_class=HelpFormatter,
        allow_abbrev=False,
    )
    parser.set_defaults(handler=handler)
    return parser


def make_client(args: argparse.Namespace) -> AsyncSpeechAPI:
    """The client the arguments describe; a missing token is a usage error."""
    token = args.token if args.token is not None else os.environ.get(TOKEN_ENV_VAR)
    if not token or not token.strip():
        raise UsageError(f"no API token: pass --token or set {TOKEN_ENV_VAR}")
    timeout = args.request_timeout or DEFAULT_REQUEST_TIMEOUT
    return AsyncSpeechAPI(token, base_url=args.base_url, timeout=timeout)
