"""Every ```python block of README.md and docs/*.md passes ``mypy --strict``.

The blocks are the ones ``test_snippets.py`` extracts (includes expanded, ``<!-- no-test -->``
marks read). Each is written to a module of its own in a temporary directory and one mypy run
checks them all, the way a reader's type checker would see the pasted code. A block that is
deliberately a fragment (a signature, an excerpt) carries ``<!-- no-test -->`` on the line before
it and is left out here too; keep that rare (``test_snippets.MAX_UNTESTED``).
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
from test_snippets import ROOT, Snippet, extract_snippets


def typed_snippets() -> list[Snippet]:
    """The blocks of README.md and of every docs page, fragments left out."""
    pages = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
    found = []
    for page in pages:
        found.extend(extract_snippets(page.name, page.read_text(encoding="utf-8")))
    return [snippet for snippet in found if not snippet.untested]


def module_name(snippet: Snippet) -> str:
    return "snippet_" + re.sub(r"\W", "_", f"{Path(snippet.page).stem}_{snippet.line}")


def test_readme_and_docs_have_blocks() -> None:
    """The extraction finds the README's blocks and the docs' (an empty run would prove nothing)."""
    pages = {snippet.page for snippet in typed_snippets()}
    assert "README.md" in pages
    assert len(pages) > 5


def test_snippets_pass_mypy_strict(tmp_path: Path) -> None:
    """mypy --strict, with the project's settings, finds no error in any documented block."""
    pytest.importorskip("mypy", reason="mypy is part of the test extra")
    modules = tmp_path / "snippets"
    modules.mkdir()
    where: dict[str, str] = {}
    for snippet in typed_snippets():
        name = module_name(snippet)
        (modules / f"{name}.py").write_text(snippet.code, encoding="utf-8")
        where[name] = snippet.id
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "mypy",
            "--strict",
            "--cache-dir",
            str(tmp_path / "mypy-cache"),
            "--no-error-summary",
            str(modules),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )
    errors = [
        # "README.md:84:3: error ..." is line 3 of the block that opens on line 84.
        re.sub(r"^.*?(snippet_\w+)\.py", lambda m: where.get(m[1], m[1]), line)
        for line in result.stdout.splitlines()
        if line.strip()
    ]
    assert result.returncode == 0, "\n".join(errors) or result.stderr
