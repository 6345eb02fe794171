"""Every Python example in docs/*.md runs, against the fake API, so that the docs cannot rot.

Each ```python block is a complete program, run on its own as ``__main__`` in a fresh namespace,
the way a reader would paste it into a file.  What stands in for the network:

- ``pixverse_speech.AsyncSpeechAPI`` is replaced, for the run, by a subclass whose instances talk
  to an in-process :class:`FakeSpeechAPI` (unless the snippet gives its own ``transport=``,
  ``http_client=`` or ``base_url=``), and ``USEAPI_TOKEN`` holds the fake's token.  A snippet that
  builds its own fake (the testing pages do) is left alone.
- The fake starts with a short history (one FAILED job, then two COMPLETED ones, newest last)
  and runs on a :class:`FakeClock` under ``virtual_time()``: waits take no real time.
- The working directory is a temporary one (downloads land there), and a real-time alarm ends
  a snippet that runs for more than ``SNIPPET_SECONDS``.

A block whose previous non-blank line is ``<!-- no-test -->`` is reported as skipped; keep them
rare (``MAX_UNTESTED``).  Pages listed in ``NOT_RUN`` are someone else's reference pages whose
blocks are signatures and fragments, not programs.
"""

from __future__ import annotations

import re
import signal
import textwrap
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from types import FrameType
from typing import Any

import pytest

import pixverse_speech
from pixverse_speech import _timing
from pixverse_speech.testing import FakeClock, FakeSpeechAPI

DOCS = Path(__file__).resolve().parents[2] / "docs"
NO_TEST = "<!-- no-test -->"
MAX_UNTESTED = 3
SNIPPET_SECONDS = 10.0
NOT_RUN = {
    "fake-api.md": "the fake's reference page: call signatures and fragments, not programs",
}

_FENCE_OPEN = re.compile(r"^(?P<indent>[ \t]*)(?P<fence>`{3,}|~{3,})[ \t]*(?P<info>[^\n`]*)$")


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
        while index < len(lines) and not (
            lines[index].strip().startswith(fence) and not lines[index].strip()[len(fence) :]
        ):
            body.append(lines[index][len(indent) :] if lines[index].startswith(indent) else "")
            index += 1
        index += 1  # the closing fence
        if _is_python(match["info"]):
            code = textwrap.dedent("\n".join(body)) + "\n"
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
            if not {"transport", "http_client", "base_url"} & kwargs.keys():
                kwargs["transport"] = fake.transport()
            super().__init__(*args, **kwargs)

    AsyncSpeechAPI.__qualname__ = real.__qualname__
    AsyncSpeechAPI.__module__ = real.__module__
    return AsyncSpeechAPI


class SnippetTimeout(Exception):
    """A snippet ran past its real-time budget."""


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
    monkeypatch.setattr(pixverse_speech, "AsyncSpeechAPI", _bound_client_class(fake))
    monkeypatch.chdir(workdir)
    code = compile(snippet.code, f"docs/{snippet.page}:{snippet.line}", "exec")
    namespace: dict[str, Any] = {"__name__": "__main__"}
    with fake.virtual_time():
        exec(code, namespace)
    return fake


@pytest.mark.parametrize(
    "snippet",
    [
        pytest.param(s, id=s.id, marks=pytest.mark.skip(reason=NO_TEST)) if s.untested else s
        for s in SNIPPETS
    ],
)
@pytest.mark.usefixtures("real_time_limit")
def test_snippet_runs(
    snippet: Snippet, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """The docs example runs to the end against the fake API, within its time budget."""
    run_snippet(snippet, monkeypatch, tmp_path)
    assert _timing.current() is _timing.install(None), "the snippet left virtual time in force"


def test_docs_have_snippets() -> None:
    """The extraction finds the examples: every page but the reference ones has at least one."""
    pages = {s.page for s in SNIPPETS}
    without = {"performance.md", "bad-input.md", "reference.md", "changelog.md"}
    expected = {p.name for p in DOCS.glob("*.md")} - without - set(NOT_RUN)
    assert expected <= pages, f"pages without a tested example: {sorted(expected - pages)}"


def test_few_snippets_are_untested() -> None:
    """``<!-- no-test -->`` stays the exception: at most ``MAX_UNTESTED`` blocks carry it."""
    untested = [s.id for s in SNIPPETS if s.untested]
    assert len(untested) <= MAX_UNTESTED, untested


def test_not_run_pages_exist() -> None:
    """Every page excused from running is a real page (a stale excuse hides nothing)."""
    assert all((DOCS / page).is_file() for page in NOT_RUN)


def test_extraction_of_marks_indents_and_other_languages() -> None:
    """Indented blocks are dedented, ``no-test`` marks apply to the next block only."""
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

        - a list item:

            ```python
            x = 1
            ```
        """
    )
    first, second = extract_snippets("page.md", text)
    assert (first.untested, first.line, first.code) == (True, 5, 'print("skipped")\n')
    assert (second.untested, second.line, second.code) == (False, 16, "x = 1\n")


def test_reference_lists_every_public_name() -> None:
    """The API reference page renders every name of ``__all__`` (of the package and testing)."""
    import pixverse_speech.testing

    reference = (DOCS / "reference.md").read_text(encoding="utf-8")
    rendered = set(re.findall(r"^::: ([\w.]+)", reference, flags=re.MULTILINE))
    wanted = {f"pixverse_speech.{n}" for n in pixverse_speech.__all__ if not n.startswith("_")}
    wanted |= {f"pixverse_speech.testing.{n}" for n in pixverse_speech.testing.__all__}
    assert wanted <= rendered, f"missing from docs/reference.md: {sorted(wanted - rendered)}"
