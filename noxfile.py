"""Every check of the project runs through a session here; CI runs the default ones.

- `python -m nox`: tests, lint, types and docs, as CI runs them.
- `python -m nox -s tests`: the test suite alone (pytest arguments after `--`).
- `python -m nox -s bench`: the benchmarks, which are not part of the default run.
"""

from __future__ import annotations

import nox

nox.options.sessions = ["tests", "lint", "types", "docs"]
nox.options.reuse_venv = "yes"
nox.options.error_on_missing_interpreters = True

LINT_PATHS = ["pixverse_speech", "tests", "benchmarks", "examples", "noxfile.py"]


@nox.session
def tests(session: nox.Session) -> None:
    """The test suite, under asyncio and trio, against respx, the fake API and real sockets."""
    session.install("-e", ".[test,cli,server,aiohttp]")
    session.run("python", "-m", "pytest", *session.posargs)


@nox.session
def lint(session: nox.Session) -> None:
    """ruff: lint rules and formatting."""
    session.install("ruff==0.17.6")
    session.run("ruff", "check", *LINT_PATHS)
    session.run("ruff", "format", "--check", *LINT_PATHS)


@nox.session
def types(session: nox.Session) -> None:
    """mypy --strict over the package."""
    session.install("-e", ".[test,cli,server,aiohttp]", "mypy==2.4.1")
    session.run("mypy", "--strict", "pixverse_speech")


@nox.session
def docs(session: nox.Session) -> None:
    """The documentation site, built in strict mode (warnings are errors)."""
    # mkdocstrings formats the signatures it shows with ruff when ruff is installed.
    session.install("-e", ".[docs]", "ruff==0.17.6")
    # Material's end-of-life banner is not a build problem; the build's own warnings still fail it.
    session.run(
        "mkdocs", "build", "--strict", "--site-dir", "site", env={"NO_MKDOCS_2_WARNING": "1"}
    )


@nox.session
def bench(session: nox.Session) -> None:
    """The benchmarks: print the tables that docs/performance.md records."""
    session.install("-e", ".[test,server,aiohttp]", "aiohttp>=3.9")
    session.run("python", "benchmarks/run_all.py", *session.posargs)
