"""Every Python example in docs/*.md runs against the fake API, so that the docs cannot rot.

Each ```python block is a complete program. It runs on its own, as ``__main__`` in a fresh
namespace, the way a reader would paste it into a file. The network is replaced like this:

- ``pixverse_speech.AsyncSpeechAPI`` is swapped, for the run, for a subclass whose instances talk
  to an in-process :class:`FakeSpeechAPI`, unless the snippet passes its own ``transport=``,
  ``http_client=`` or ``base_url=``; so is the one inside ``pixverse_speech.SpeechAPI``.
  ``USEAPI_TOKEN`` holds the fake's token. A snippet that builds its own fake (as the testing
  examples do) is left alone.
- The fake starts with a short history: one FAILED job, then two COMPLETED ones, newest last. It
  runs on a :class:`FakeClock` under ``virtual_time()``, so waits take no real time.
- The working directory is a temporary one, so downloads land there. The repository root is on
  ``sys.path``, so ``examples`` is importable. A ``--8<-- "path"`` line (a pymdownx.snippets
  include) is replaced by that file, as the site build does.
- A real-time alarm ends any snippet that runs for more than ``SNIPPET_SECONDS``.

A block whose previous non-blank line is ``<!-- no-test -->`` is reported as skipped. Keep such
blocks rare (``MAX_UNTESTED``). Pages listed in ``NOT_RUN`` are reference pages whose blocks are
signatures and fragments, not programs.

The rest of this module checks the tables the docs copy from the code (defaults, the poll
schedule, the model rules, the error tree, the CLI's options and exit codes), so that a change to
the code that the docs do not follow fails here.
"""

from __future__ import annotations

import argparse
import inspect
import logging
import random
import re
import signal
import textwrap
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from types import FrameType
from typing import Any

import pytest

import pixverse_speech
import pixverse_speech._sync
import pixverse_speech.testing
import pixverse_speech.webhooks
from pixverse_speech import _exceptions, _timing
from pixverse_speech._cli import _main as cli
from pixverse_speech._model_rules import (
    DEFAULT_MODEL,
    EMOTIONS,
    MODELS,
    SETTING_KINDS,
    Choice,
    Flag,
    NumberRange,
    Setting,
)
from pixverse_speech._polling import PollSchedule
from pixverse_speech.testing import FakeClock, FakeSpeechAPI

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"
NO_TEST = "<!-- no-test -->"
MAX_UNTESTED = 3
SNIPPET_SECONDS = 10.0
NOT_RUN: dict[str, str] = {}
DASH = "\N{EN DASH}"  # what the docs' tables show for "not accepted"
# Pages that hold no Python example by design.
WITHOUT_EXAMPLES = {"performance.md", "bad-input.md", "reference.md", "changelog.md", "cli.md"}

_FENCE_OPEN = re.compile(r"^(?P<indent>[ \t]*)(?P<fence>`{3,}|~{3,})[ \t]*(?P<info>[^\n`]*)$")
_INCLUDE = re.compile(r'^(?P<indent>[ \t]*)--8<--[ \t]+"(?P<path>[^"]+)"[ \t]*$', re.MULTILINE)


def page_text(name: str) -> str:
    """A docs page's Markdown."""
    return (DOCS / name).read_text(encoding="utf-8")


# -- extracting the examples -----------------------------------------------------------------


@dataclass(frozen=True)
class Snippet:
    """One fenced ```python block of a docs page."""

    page: str
    line: int  # 1-based line of the opening fence
    code: str
    untested: bool

    @property
    def id(self) -> str:
        return f"{self.page}:{self.line}"


def _is_python(info: str) -> bool:
    words = info.split()
    return bool(words) and words[0].lower() in ("python", "py", "python3")


def _expand_includes(code: str) -> str:
    """Replace each ``--8<-- "path"`` line by the file it names (relative to the repo root)."""

    def include(match: re.Match[str]) -> str:
        text = (ROOT / match["path"]).read_text(encoding="utf-8")
        return textwrap.indent(text, match["indent"]).rstrip("\n")

    return _INCLUDE.sub(include, code)


def extract_snippets(page: str, text: str) -> list[Snippet]:
    """The ```python blocks of one page, in order, with their ``<!-- no-test -->`` marks."""
    lines = text.splitlines()
    snippets: list[Snippet] = []
    previous = ""  # the last non-blank line outside a block
    index = 0
    while index < len(lines):
        match = _FENCE_OPEN.match(lines[index])
        if match is None:
            if lines[index].strip():
                previous = lines[index].strip()
            index += 1
            continue
        fence, indent = match["fence"], match["indent"]
        start = index
        body: list[str] = []
        index += 1
        while index < len(lines) and lines[index].strip() != fence:
            body.append(lines[index][len(indent) :] if lines[index].startswith(indent) else "")
            index += 1
        index += 1  # the closing fence
        if _is_python(match["info"]):
            code = _expand_includes(textwrap.dedent("\n".join(body))) + "\n"
            snippets.append(Snippet(page, start + 1, code, untested=previous == NO_TEST))
        previous = ""
    return snippets


def all_snippets() -> list[Snippet]:
    """Every ```python block of every docs page that is run."""
    found: list[Snippet] = []
    for path in sorted(DOCS.glob("*.md")):
        if path.name not in NOT_RUN:
            found.extend(extract_snippets(path.name, path.read_text(encoding="utf-8")))
    return found


SNIPPETS = all_snippets()


# -- running them ----------------------------------------------------------------------------


def _seeded_fake() -> FakeSpeechAPI:
    """The fake a snippet's client talks to: a few finished jobs already on the account."""
    fake = FakeSpeechAPI(clock=FakeClock(), max_jobs=8)
    fake.add_job(prompt="An old job that failed.", outcome="failed", fail_reason="timeout")
    fake.add_job(prompt="Use API dot net.")
    fake.add_job(prompt="May the Force be with you.")
    fake.clock.advance(60)
    return fake


def _bound_client_class(fake: FakeSpeechAPI) -> type[pixverse_speech.AsyncSpeechAPI]:
    """``AsyncSpeechAPI``, but talking to ``fake`` unless told where to go."""
    real = pixverse_speech.AsyncSpeechAPI

    class AsyncSpeechAPI(real):  # type: ignore[misc,valid-type]
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            if all(kwargs.get(k) is None for k in ("transport", "http_client", "base_url")):
                kwargs["transport"] = fake.transport()
            super().__init__(*args, **kwargs)

    AsyncSpeechAPI.__qualname__ = real.__qualname__
    AsyncSpeechAPI.__module__ = real.__module__
    return AsyncSpeechAPI


class SnippetTimeout(Exception):
    """A snippet ran past its real-time budget."""


@pytest.fixture
def logging_restored() -> Iterator[None]:
    """Put back the logging set-up a snippet changes (docs/logging.md configures it)."""
    loggers = [logging.getLogger(), logging.getLogger("pixverse_speech")]
    saved = [(logger.level, logger.handlers[:]) for logger in loggers]
    yield
    for logger, (level, handlers) in zip(loggers, saved, strict=True):
        logger.setLevel(level)
        logger.handlers[:] = handlers


@pytest.fixture
def real_time_limit() -> Iterator[None]:
    """End a snippet that runs longer than ``SNIPPET_SECONDS`` of real time."""

    def expire(signum: int, frame: FrameType | None) -> None:
        raise SnippetTimeout(f"the snippet ran for more than {SNIPPET_SECONDS:g} s")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, SNIPPET_SECONDS)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def run_snippet(snippet: Snippet, monkeypatch: pytest.MonkeyPatch, workdir: Path) -> FakeSpeechAPI:
    """Run one snippet as ``__main__`` with the fake in place of the API; return the fake."""
    fake = _seeded_fake()
    assert fake.token is not None
    monkeypatch.setenv("USEAPI_TOKEN", fake.token)
    bound = _bound_client_class(fake)
    monkeypatch.setattr(pixverse_speech, "AsyncSpeechAPI", bound)
    # SpeechAPI builds its AsyncSpeechAPI from its own module's name for it.
    monkeypatch.setattr(pixverse_speech._sync, "AsyncSpeechAPI", bound)
    monkeypatch.syspath_prepend(str(ROOT))
    monkeypatch.chdir(workdir)
    code = compile(snippet.code, f"docs/{snippet.page}:{snippet.line}", "exec")
    namespace: dict[str, Any] = {"__name__": "__main__"}
    with fake.virtual_time():
        exec(code, namespace)
    return fake


# A block marked <!-- no-test --> (a pytest test shown as an example) is not run as a script; it
# is still type-checked (test_snippet_types.py), and examples/ runs its like.
@pytest.mark.parametrize("snippet", [pytest.param(s, id=s.id) for s in SNIPPETS if not s.untested])
@pytest.mark.usefixtures("real_time_limit", "logging_restored")
def test_snippet_runs(snippet: Snippet, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """The docs example runs to the end against the fake API, within its time budget."""
    run_snippet(snippet, monkeypatch, tmp_path)
    leftover = _timing.install(None)
    assert leftover is _timing.current(), "the snippet left its own timing in force"


# -- the extraction itself -------------------------------------------------------------------


def test_docs_have_snippets() -> None:
    """Every guide page has at least one tested example (a broken extraction finds none)."""
    pages = {s.page for s in SNIPPETS if not s.untested}
    expected = {p.name for p in DOCS.glob("*.md")} - WITHOUT_EXAMPLES - set(NOT_RUN)
    assert expected <= pages, f"pages without a tested example: {sorted(expected - pages)}"


def test_few_snippets_are_untested() -> None:
    """``<!-- no-test -->`` stays the exception: at most ``MAX_UNTESTED`` blocks carry it."""
    untested = [s.id for s in SNIPPETS if s.untested]
    assert len(untested) <= MAX_UNTESTED, untested


def test_excused_pages_exist() -> None:
    """Every page excused from examples is a real page: a stale excuse would hide nothing."""
    assert all((DOCS / page).is_file() for page in {*NOT_RUN, *WITHOUT_EXAMPLES})


def test_extraction_handles_marks_indents_and_includes() -> None:
    """Indented blocks are dedented, marks apply to the next block only, includes expand."""
    text = textwrap.dedent(
        """\
        Intro.

        <!-- no-test -->

        ```python
        print("skipped")
        ```

        ```sh
        echo not python
        ```

        ??? example "a file"

            ```python
            --8<-- "examples/__init__.py"
            x = 1
            ```
        """
    )
    first, second = extract_snippets("page.md", text)
    assert (first.untested, first.line, first.code) == (True, 5, 'print("skipped")\n')
    included = (ROOT / "examples" / "__init__.py").read_text(encoding="utf-8").rstrip("\n")
    assert (second.untested, second.line) == (False, 15)
    assert second.code == included + "\nx = 1\n"


# -- tables copied from the code -------------------------------------------------------------


def _table_defaults(page: str, first_header: str) -> dict[str, str]:
    """``{name: default}`` from the rows of the table whose header starts with ``first_header``.

    Rows look like ``| `name` | `default` ... |``; the first code span of each cell is taken.
    """
    lines = page_text(page).splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(f"| {first_header} |"))
    rows: dict[str, str] = {}
    for line in lines[start + 2 :]:
        if not line.startswith("|"):
            break
        cells = [cell.strip() for cell in line.strip("|").split("|")]
        name, default = (re.search(r"`([^`]*)`", cell) for cell in cells[:2])
        assert name is not None, line
        assert default is not None, line
        rows[name.group(1)] = default.group(1)
    return rows


def _signature_defaults(func: Callable[..., object]) -> dict[str, str]:
    defaults = {}
    for name, parameter in inspect.signature(func).parameters.items():
        if parameter.default is not inspect.Parameter.empty:
            defaults[name] = str(parameter.default)
    return defaults


@pytest.mark.parametrize(
    ("page", "header", "func"),
    [
        ("index.md", "option", pixverse_speech.AsyncSpeechAPI.__init__),
        ("waiting.md", "option", pixverse_speech.AsyncSpeechAPI.wait_until_final),
        ("batch.md", "option", pixverse_speech.AsyncSpeechAPI.wait_many),
        ("batch.md", "option", pixverse_speech.AsyncSpeechAPI.as_completed),
    ],
    ids=["client", "wait_until_final", "wait_many", "as_completed"],
)
def test_documented_defaults_match_the_code(
    page: str, header: str, func: Callable[..., object]
) -> None:
    """Each options table lists every keyword of its call, with the default the code has."""
    assert _table_defaults(page, header) == _signature_defaults(func)


def _fmt(seconds: float) -> str:
    return f"{seconds:.2f}".rstrip("0").rstrip(".")


class _NoJitter(random.Random):
    def random(self) -> float:
        return 0.0


def render_poll_table(polls: int = 9) -> str:
    """The poll schedule of ``wait_until_final``'s defaults, without jitter, as docs/waiting.md
    shows it."""
    defaults = inspect.signature(pixverse_speech.AsyncSpeechAPI.wait_until_final).parameters
    schedule = PollSchedule.checked(
        defaults["poll_interval"].default, defaults["max_poll_interval"].default
    )
    pauses = schedule.pauses(_NoJitter())
    rows = ["| poll | at (s) | pause after it (s) |", "|---:|---:|---:|"]
    at = 0.0
    for poll in range(1, polls + 1):
        pause = next(pauses)
        rows.append(f"| {poll} | {_fmt(at)} | {_fmt(pause)} |")
        at += pause
    return "\n".join(rows)


def test_poll_schedule_table_matches_the_code() -> None:
    """docs/waiting.md shows the schedule the default wait follows, and its jitter."""
    page = page_text("waiting.md")
    assert render_poll_table() in page, "update docs/waiting.md with:\n" + render_poll_table()
    assert f"up to {PollSchedule().jitter * 100:g} % of itself" in page


def _rule_cell(rule: Setting | None) -> str:
    if rule is None:
        return DASH
    if isinstance(rule, NumberRange):
        text = f"{rule.low:g} to {rule.high:g}"
        return f"integer {text}" if rule.integer else text
    if isinstance(rule, Choice):
        return f"one of {len(rule.values)} (below)"
    assert isinstance(rule, Flag)
    return "true or false"


def render_model_table() -> str:
    """The model table of docs/creating.md, from the table the library validates against."""
    models = list(MODELS.values())
    header = [
        "setting",
        *(f"`{m.model}`" + (" (default)" if m.model == DEFAULT_MODEL else "") for m in models),
    ]
    rows = [
        header,
        ["---"] * len(header),
        ["family", *(m.family for m in models)],
        ["`text`, characters at most", *(f"{m.max_characters:,}" for m in models)],
        *(
            [f"`{name}`", *(_rule_cell(m.settings.get(name)) for m in models)]
            for name in SETTING_KINDS
        ),
        ["`language_code`", *("yes" if m.language_code else DASH for m in models)],
    ]
    table = "\n".join("| " + " | ".join(row) + " |" for row in rows)
    emotions = ", ".join(f"`{emotion}`" for emotion in EMOTIONS)
    return f"{table}\n\n`emotion` is one of {emotions}."


def test_model_table_matches_the_validation_rules() -> None:
    """docs/creating.md shows exactly the per-model rules that ``create`` checks."""
    expected = render_model_table()
    assert expected in page_text("creating.md"), "update docs/creating.md with:\n" + expected


def _tree(text: str) -> list[tuple[int, str]]:
    """``(depth, class name)`` for each line of a box-drawn tree (four columns per level)."""
    return [
        (len(match["branch"]) // 4, match["name"])
        for match in re.finditer(r"^(?P<branch>[ │├└─]*)(?P<name>\w+)", text, flags=re.MULTILINE)
    ]


def test_error_tree_matches_the_code() -> None:
    """docs/errors.md draws the tree of ``_exceptions.py``: its docstring and its classes."""
    block = page_text("errors.md").split("```text\n", 1)[1].split("```", 1)[0]
    drawn = _tree(block)
    documented = (_exceptions.__doc__ or "").split("::", 1)[1].split("\n\n", 2)[1]
    assert drawn == _tree(textwrap.dedent(documented))
    parents: list[str] = []
    for depth, name in drawn:
        cls = getattr(pixverse_speech, name)
        del parents[depth:]
        if parents:
            assert cls.__bases__[0].__name__ == parents[-1], name
        parents.append(name)
    public_errors = {
        name
        for name in pixverse_speech.__all__
        if isinstance(getattr(pixverse_speech, name), type)
        and issubclass(getattr(pixverse_speech, name), pixverse_speech.SpeechError)
    }
    assert {name for _, name in drawn} == public_errors


def _subcommands() -> dict[str, argparse.ArgumentParser]:
    parser = cli.build_parser()
    action = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return dict(action.choices)


def test_cli_page_covers_every_command_and_option() -> None:
    """docs/cli.md names every subcommand and option of the parser, and no option it lacks."""
    page = page_text("cli.md")
    commands = _subcommands()
    options = {
        flag
        for sub in commands.values()
        for action in sub._actions
        for flag in action.option_strings
        if flag.startswith("--") and flag != "--help"
    }
    for command in commands:
        assert f"| `{command}" in page, f"subcommand {command} is not in the table"
    mentioned = set(re.findall(r"(?<![\w-])--[a-z][a-z-]*", page)) - {"--help"}
    assert options <= mentioned, f"undocumented: {sorted(options - mentioned)}"
    assert mentioned <= options, f"documented but unknown: {sorted(mentioned - options)}"


def test_cli_defaults_match_the_parser() -> None:
    """Defaults in a command's row of docs/cli.md, as "`--concurrency` (8)", are the parser's."""
    page = page_text("cli.md")
    checked = 0
    for command, sub in _subcommands().items():
        rows = [line for line in page.splitlines() if line.startswith(f"| `{command}` | `--")]
        for flag, number in re.findall(r"`(--[a-z-]+)` \((\d+(?:\.\d+)?)", "".join(rows)):
            action = next(a for a in sub._actions if flag in a.option_strings)
            assert float(number) == action.default, f"{command} {flag}"
            checked += 1
    assert checked >= 2


def test_cli_exit_codes_match_the_code() -> None:
    """The exit-code table of docs/cli.md lists exactly the codes ``_cli/_main.py`` defines."""
    documented = {int(code) for code in re.findall(r"^\| (\d+) \|", page_text("cli.md"), re.M)}
    defined = {getattr(cli, name) for name in cli.__all__ if name.startswith("EXIT_")}
    assert documented == defined


def test_reference_lists_every_public_name() -> None:
    """The API reference page renders every name of ``__all__`` (package, testing, webhooks)."""
    reference = page_text("reference.md")
    rendered = set(re.findall(r"^::: ([\w.]+)", reference, flags=re.MULTILINE))
    wanted = {f"pixverse_speech.{n}" for n in pixverse_speech.__all__ if not n.startswith("_")}
    wanted |= {f"pixverse_speech.testing.{n}" for n in pixverse_speech.testing.__all__}
    wanted |= {f"pixverse_speech.webhooks.{n}" for n in pixverse_speech.webhooks.__all__}
    assert wanted <= rendered, f"missing from docs/reference.md: {sorted(wanted - rendered)}"
