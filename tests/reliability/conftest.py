"""Fixtures of the reliability suites: backends, timing hygiene and the soak tallies."""

from __future__ import annotations

import contextlib
import warnings
from collections.abc import Callable

import pytest

# Hypothesis reports a failing example by importing libcst, whose first import warns
# (DeprecationWarning from mypy_extensions); with ``filterwarnings = error`` that warning would turn
# every property failure into an INTERNALERROR hiding it.  Import it once here, quietly.
with warnings.catch_warnings():
    warnings.simplefilter("ignore", DeprecationWarning)
    with contextlib.suppress(ImportError):  # libcst is optional
        import hypothesis.extra._patching  # noqa: F401

_TALLIES = pytest.StashKey[list[str]]()


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
