"""Fixtures of the reliability suites: backends, timing hygiene and the soak tallies."""

from __future__ import annotations

import contextlib
import warnings
from collections.abc import Callable, Iterator

import pytest
import trio
import trio.testing

from pixverse_speech import _timing

# Hypothesis reports a failing example by importing libcst, whose first import warns
# (DeprecationWarning from mypy_extensions); with ``filterwarnings = error`` that warning would turn
# every property failure into an INTERNALERROR hiding it.  Import it once here, quietly.
with warnings.catch_warnings():
    warnings.simplefilter("ignore", DeprecationWarning)
    with contextlib.suppress(ImportError):  # libcst is optional
        import hypothesis.extra._patching  # noqa: F401

_TALLIES = pytest.StashKey[list[str]]()


@pytest.fixture(params=["asyncio", "trio"])
def anyio_backend(request: pytest.FixtureRequest) -> object:
    """Every async test runs under asyncio and trio (``trio-virtual``: trio on a mock clock)."""
    if request.param == "trio-virtual":
        return ("trio", {"clock": trio.testing.MockClock(autojump_threshold=0)})
    return request.param


@pytest.fixture(autouse=True)
def _no_token_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """No test depends on the USEAPI_TOKEN of whoever runs the suite."""
    monkeypatch.delenv("USEAPI_TOKEN", raising=False)


@pytest.fixture(autouse=True)
def _timing_restored() -> Iterator[None]:
    """No test leaks a timing switch into the next one."""
    before = _timing.current()
    yield
    after = _timing.current()
    _timing.install(before)
    assert after is before, "a test left a timing installed"


@pytest.fixture
def report_tally(
    request: pytest.FixtureRequest, record_property: Callable[[str, object], None]
) -> Callable[[str, str], None]:
    """Report a soak tally: printed (``-s``), a JUnit user property, and the run's summary."""

    def report(name: str, line: str) -> None:
        print(line)
        record_property(name, line)
        request.config.stash.setdefault(_TALLIES, []).append(line)

    return report


def pytest_terminal_summary(
    terminalreporter: pytest.TerminalReporter, exitstatus: int, config: pytest.Config
) -> None:
    """Print the tallies the soak tests reported, at the end of every run."""
    tallies = config.stash.get(_TALLIES, [])
    if tallies:
        terminalreporter.section("reliability tallies")
        for line in tallies:
            terminalreporter.write_line(line)
