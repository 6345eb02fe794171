"""The CLI at 80 and 120 columns, its error paths and its arguments, against the fake API."""

from __future__ import annotations

import argparse
import io
import json
import re
from collections.abc import Iterator

import pytest

from pixverse_speech._cli import main
from pixverse_speech._cli._main import (
    EXIT_API,
    EXIT_OK,
    EXIT_TIMEOUT,
    EXIT_USAGE,
    build_parser,
)
from pixverse_speech._cli._output import Output
from pixverse_speech._cli._progress import Progress
from pixverse_speech._cli._table import Column, render, shorten_id
from pixverse_speech.testing import DEFAULT_VOICE_ID, FakeSpeechAPI, Fault

LONG_EMAIL = "someone.with.a.rather.long.name@example.com"
TOKEN = "user:77-very-secret-token-value-0123456789"
DATE = re.compile(r"\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}:\d{2}Z?")
NUMBER = re.compile(r"speech:(\d+)")


@pytest.fixture(scope="module")
def served() -> Iterator[tuple[FakeSpeechAPI, str]]:
    fake = FakeSpeechAPI(
        token=TOKEN,
        accounts=(LONG_EMAIL,),
        queued_for=0.05,
        generating_for=0.1,
        max_jobs=8,
    )
    for index in range(4):
        fake.add_job(prompt=f"A fairly long prompt number {index} that goes on and on and on.")
    with fake.serve() as base_url:
        yield fake, base_url


@pytest.fixture(autouse=True)
def _no_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("USEAPI_TOKEN", raising=False)
    monkeypatch.delenv("USEAPI_BASE_URL", raising=False)
    monkeypatch.delenv("COLUMNS", raising=False)


def run(
    served: tuple[FakeSpeechAPI, str], *args: str, columns: int | None = None
) -> tuple[int, str, str]:
    _fake, base_url = served
    out, err = io.StringIO(), io.StringIO()
    with pytest.MonkeyPatch.context() as patch:
        if columns is not None:
            patch.setenv("COLUMNS", str(columns))
        code = main([*args, "--base-url", base_url, "--token", TOKEN], stdout=out, stderr=err)
    return code, out.getvalue(), err.getvalue()


def assert_fits(text: str, width: int) -> None:
    for line in text.splitlines():
        assert len(line) <= width, f"{len(line)} > {width}: {line!r}"


def assert_dates_whole(text: str) -> None:
    """Every date-like fragment is a whole ``YYYY-MM-DD HH:MM:SS`` (or its ISO form)."""
    for fragment in re.findall(r"20\d\d-[-\dT: Z]*", text):
        assert DATE.fullmatch(fragment.strip()), fragment


# -- fitting the terminal -----------------------------------------------------------------------


@pytest.mark.parametrize("width", [80, 120])
def test_list_fits_the_terminal(served: tuple[FakeSpeechAPI, str], width: int) -> None:
    """`list` at 80 and 120 columns: every line fits, dates are whole, job numbers are whole."""
    fake, _ = served
    code, out, _ = run(served, "list", columns=width)
    assert code == EXIT_OK
    assert_fits(out, width)
    assert_dates_whole(out)
    numbers = {audio_id.rsplit(":", 1)[1] for audio_id in fake.audio_ids}
    shown = set(NUMBER.findall(out))
    assert numbers <= shown
    if width == 120:
        assert "CREATED" in out
        assert DATE.search(out)


@pytest.mark.parametrize("width", [80, 120])
def test_wait_report_fits_the_terminal(served: tuple[FakeSpeechAPI, str], width: int) -> None:
    """The `wait` summary table fits, and its RESULT column says COMPLETED/FAILED/ERROR."""
    fake, _ = served
    good = fake.add_job()
    bad = fake.add_job(outcome="failed", fail_reason="backend hiccup " * 8)
    missing = f"user:77-pixverse:{LONG_EMAIL}-speech:1"
    code, out, _ = run(served, "wait", good, bad, missing, "--poll-interval", "0.05", columns=width)
    assert code == EXIT_API
    assert_fits(out, width)
    rows = {line.split()[1] for line in out.splitlines()[1:4]}
    assert rows == {"COMPLETED", "FAILED", "ERROR"}
    assert "NotFoundError" in out


@pytest.mark.parametrize("width", [80, 120])
def test_catalog_and_record_fit(served: tuple[FakeSpeechAPI, str], width: int) -> None:
    """`voices`, `models` and `get` fit; `get` folds long values instead of cutting them."""
    fake, _ = served
    for command in (["voices"], ["models"]):
        code, out, _ = run(served, *command, columns=width)
        assert code == EXIT_OK
        assert_fits(out, width)
    audio_id = fake.audio_ids[0]
    code, out, _ = run(served, "get", audio_id, columns=width)
    assert code == EXIT_OK
    assert_fits(out, width)
    assert_dates_whole(out)
    assert audio_id in "".join(line[line.find("  ") :].strip() for line in out.splitlines())


def test_pipe_without_columns_is_not_cut(served: tuple[FakeSpeechAPI, str]) -> None:
    """Output to a pipe (no terminal, no COLUMNS) keeps every id whole, for grep."""
    fake, _ = served
    code, out, _ = run(served, "list")
    assert code == EXIT_OK
    assert all(audio_id in out for audio_id in fake.audio_ids[-4:])


@pytest.mark.parametrize("width", [80, 120])
def test_live_display_never_breaks_an_id(width: int) -> None:
    """The live table at 80 and 120 columns: one line per job, each id's number on its line."""
    pytest.importorskip("rich")
    from rich.console import Console

    ids = [f"user:1-pixverse:{LONG_EMAIL}-speech:{n}" for n in range(11223344, 11223348)]
    progress = Progress(ids, Output(json_lines=False, stream=io.StringIO()), stream=io.StringIO())
    progress.rows[ids[0]] = ["COMPLETED", "3.2s", "https://media.example/" + "x" * 200]
    buffer = io.StringIO()
    Console(file=buffer, width=width, force_terminal=False).print(progress._render(width))
    lines = buffer.getvalue().splitlines()
    assert_fits(buffer.getvalue(), width)
    assert len(lines) == 1 + len(ids)
    for line, audio_id in zip(lines[1:], ids, strict=True):
        assert f"speech:{audio_id.rsplit(':', 1)[1]}" in line


def test_shorten_id_keeps_the_job_number() -> None:
    """A shortened id keeps its start and its whole job number, with an ellipsis between."""
    audio_id = f"user:1-pixverse:{LONG_EMAIL}-speech:11223344"
    short = shorten_id(audio_id, 30)
    assert len(short) == 30
    assert short.endswith("…speech:11223344")
    assert short.startswith("user:1-pixv")
    assert shorten_id(audio_id, 5) == "…speech:11223344"


def test_columns_drop_by_priority() -> None:
    """Too narrow for all: the highest priority number goes first; fixed cells are never cut."""
    columns = [
        Column("ID", "id"),
        Column("WHEN", "fixed", priority=1),
        Column("NOTE", "text", priority=2, min_width=4),
    ]
    rows = [["user:1-pixverse:a@b.c-speech:42", "2026-06-23 12:00:00", "n" * 40]]
    lines = render(columns, rows, 60)
    assert lines[0].split() == ["ID", "WHEN", "NOTE"]
    assert "…" in lines[1]
    narrow = render(columns, rows, 32)
    assert narrow[0].split() == ["ID", "WHEN"]
    assert "2026-06-23 12:00:00" in narrow[1]


# -- errors, --debug and --json ------------------------------------------------------------------


def test_debug_prints_a_traceback_and_keeps_the_exit_code(
    served: tuple[FakeSpeechAPI, str],
) -> None:
    """With --debug an API error shows its traceback and still exits 3."""
    code, _, err = run(served, "get", f"user:77-pixverse:{LONG_EMAIL}-speech:2", "--debug")
    assert code == EXIT_API
    assert "Traceback" in err
    assert TOKEN not in err


def test_debug_usage_error_exits_2(served: tuple[FakeSpeechAPI, str]) -> None:
    """With --debug a usage error still exits 2."""
    code, _, _ = run(served, "list", "--limit", "0", "--debug")
    assert code == EXIT_USAGE


@pytest.mark.parametrize("where", ["before", "after"])
def test_json_before_or_after_the_subcommand(served: tuple[FakeSpeechAPI, str], where: str) -> None:
    """`--json list` and `list --json` both print JSON lines."""
    args = ["--json", "list"] if where == "before" else ["list", "--json"]
    code, out, _ = run(served, *args)
    assert code == EXIT_OK
    assert all("audio_id" in json.loads(line) for line in out.splitlines())


@pytest.mark.parametrize(
    "args",
    [["--json", "list", "--limit", "0"], ["list", "--bogus", "--json"], ["--json"]],
)
def test_json_usage_error_is_a_json_object_on_stderr(args: list[str]) -> None:
    """With --json, a usage error is one JSON object on stderr, exit 2, nothing on stdout."""
    out, err = io.StringIO(), io.StringIO()
    code = main(args, stdout=out, stderr=err)
    assert code == EXIT_USAGE
    assert out.getvalue() == ""
    record = json.loads(err.getvalue())
    assert record["error"]["type"] == "UsageError"
    assert record["error"]["message"]


def test_missing_token_in_json_mode_is_json_on_stderr() -> None:
    """A missing token found after parsing is a JSON usage error on stderr too."""
    out, err = io.StringIO(), io.StringIO()
    code = main(["list", "--json", "--base-url", "http://127.0.0.1:9/v2/"], stdout=out, stderr=err)
    assert code == EXIT_USAGE
    assert "USEAPI_TOKEN" in json.loads(err.getvalue())["error"]["message"]


@pytest.mark.parametrize(
    "args",
    [
        ["demo", "--token", TOKEN],
        ["list", "--tokn", TOKEN],
        ["get", "--token"],
        ["get", TOKEN, "extra", "--token", TOKEN],
        [TOKEN, "list"],
        ["list", f"--tokn={TOKEN}"],
        ["--json", "list", "--tokn", TOKEN],
    ],
)
def test_usage_errors_never_echo_the_token(args: list[str]) -> None:
    """A misplaced or misspelt token option never shows the token on either stream."""
    out, err = io.StringIO(), io.StringIO()
    code = main(args, stdout=out, stderr=err)
    assert code == EXIT_USAGE
    assert TOKEN not in out.getvalue() + err.getvalue()
    assert "token" in (out.getvalue() + err.getvalue()).lower() or "COMMAND" in err.getvalue()


def test_env_token_is_never_echoed(monkeypatch: pytest.MonkeyPatch) -> None:
    """The USEAPI_TOKEN value is masked too, should it appear in an argument by mistake."""
    monkeypatch.setenv("USEAPI_TOKEN", "plain-token-without-prefix-123")
    err = io.StringIO()
    code = main(["list", "plain-token-without-prefix-123"], stdout=io.StringIO(), stderr=err)
    assert code == EXIT_USAGE
    assert "plain-token-without-prefix-123" not in err.getvalue()


# -- arguments are checked before anything is sent ------------------------------------------------


@pytest.mark.parametrize("timeout", ["0", "-5", "nan", "soon"])
def test_create_wait_bad_timeout_sends_nothing(
    served: tuple[FakeSpeechAPI, str], timeout: str
) -> None:
    """`create --wait --timeout 0|-5|nan` exits 2 with nothing POSTed."""
    fake, _ = served
    before = len(fake.requests)
    code, _, err = run(
        served, "create", "Hi", "--voice-id", DEFAULT_VOICE_ID, "--wait", "--timeout", timeout
    )
    assert code == EXIT_USAGE
    assert "--timeout" in err
    assert len(fake.requests) == before


def test_bad_base_url_is_a_usage_error_before_any_request() -> None:
    """A bad --base-url exits 2, naming base_url."""
    err = io.StringIO()
    code = main(
        ["list", "--token", TOKEN, "--base-url", "ftp://x/"], stdout=io.StringIO(), stderr=err
    )
    assert code == EXIT_USAGE
    assert "base_url" in err.getvalue()


def test_base_url_from_the_environment(
    served: tuple[FakeSpeechAPI, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """With no --base-url, the CLI reads USEAPI_BASE_URL."""
    _, base_url = served
    monkeypatch.setenv("USEAPI_BASE_URL", base_url)
    monkeypatch.setenv("USEAPI_TOKEN", TOKEN)
    out = io.StringIO()
    assert main(["list", "--json"], stdout=out, stderr=io.StringIO()) == EXIT_OK
    assert out.getvalue()


@pytest.mark.parametrize("json_mode", [False, True])
def test_failure_after_create_names_the_job(
    served: tuple[FakeSpeechAPI, str], json_mode: bool
) -> None:
    """When --wait fails after the job exists, its audio_id is printed (in JSON too)."""
    fake, _ = served
    extra = ["--json"] if json_mode else []
    handle = fake.inject(Fault.status(401), method="GET", path="speech/user")
    try:
        code, out, err = run(
            served, "create", "Hi", "--voice-id", DEFAULT_VOICE_ID, "--wait", *extra
        )
    finally:
        handle.cancel()
    created = fake.audio_ids[-1]
    assert code == EXIT_API
    assert created in out + err
    if json_mode:
        assert json.loads(out.splitlines()[-1])["error"]["audio_id"] == created


def test_wait_timeout_after_create_names_the_job(served: tuple[FakeSpeechAPI, str]) -> None:
    """A --wait that times out exits 5 and names the job it created."""
    fake, _ = served
    fake.max_jobs = 99
    code, out, _err = run(
        served,
        "create",
        "Hi",
        "--voice-id",
        DEFAULT_VOICE_ID,
        "--wait",
        "--timeout",
        "0.01",
        "--json",
    )
    assert code == EXIT_TIMEOUT
    assert fake.audio_ids[-1] in out


# -- help ----------------------------------------------------------------------------------------


def _subparsers() -> dict[str, argparse.ArgumentParser]:
    parser = build_parser()
    action = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return {"": parser, **action.choices}


def test_every_option_has_help_and_shows_its_default() -> None:
    """Each option of each subcommand has help text that states its default."""
    for name, parser in _subparsers().items():
        help_text = parser.format_help().split("options:", 1)[1]
        for action in parser._actions:
            if not action.option_strings or action.dest in ("help", "version"):
                continue
            assert action.help, f"{name} {action.option_strings[0]} has no help"
            entry = help_text.split(action.option_strings[0], 1)[1].split("\n  -", 1)[0]
            shown = " ".join(entry.split())
            assert "(default" in shown or "(required)" in shown, (
                f"{name} {action.option_strings[0]}"
            )


def test_demo_refuses_connection_options() -> None:
    """`demo` takes no --token/--base-url/--request-timeout, before or after the subcommand."""
    for args in (["demo", "--base-url", "http://x/"], ["--request-timeout", "5", "demo"]):
        err = io.StringIO()
        assert main(args, stdout=io.StringIO(), stderr=err) == EXIT_USAGE
        assert "--" in err.getvalue()


def test_subcommand_registry_is_a_list_of_modules() -> None:
    """Subcommands come from the modules COMMAND_MODULES names, each with register()."""
    from pixverse_speech._cli import _main

    assert {"list", "get", "wait", "create", "voices", "models", "demo"} <= set(_subparsers())
    assert "_commands" in _main.COMMAND_MODULES
