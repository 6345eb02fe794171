"""The bad-input table: every public parameter, given wrong types and out-of-range values, raises
``TypeError`` or ``ValueError`` naming the parameter before any request; and ``docs/bad-input.md``
is exactly what the table renders to.
"""

from __future__ import annotations

import pytest
from bad_input_table import CASES, Case, run_cases
from make_bad_input_doc import DOC, rendered

pytestmark = pytest.mark.anyio


@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
async def test_bad_argument_is_refused_before_any_request(anyio_backend: str, case: Case) -> None:
    """A bad argument raises TypeError/ValueError naming its parameter, and nothing is sent."""
    (outcome,) = await run_cases([case])
    assert outcome.requests == 0, f"{outcome.requests} request(s) sent before the error"
    assert outcome.error in ("TypeError", "ValueError"), (
        f"{outcome.error or 'no error'}: {outcome.message}"
    )
    assert case.parameter in outcome.message, f"the message does not name it: {outcome.message}"


def test_every_public_parameter_is_in_the_table() -> None:
    """Each parameter of every public entry point has at least one row in the table."""
    import inspect

    from pixverse_speech import AsyncSpeechAPI

    entry_points = {
        "AsyncSpeechAPI()": AsyncSpeechAPI.__init__,
        **{
            name: getattr(AsyncSpeechAPI, name)
            for name in (
                "get",
                "list",
                "iter_speech",
                "wait_until_final",
                "wait_many",
                "as_completed",
                "create",
                "generate",
                "voices",
                "download",
            )
        },
    }
    covered = {(case.call, case.parameter) for case in CASES}
    missing = [
        f"{call} {parameter}"
        for call, function in entry_points.items()
        for parameter in list(inspect.signature(function).parameters)[1:]
        if (call, parameter) not in covered
    ]
    assert not missing, f"parameters without a bad-input row: {missing}"


def test_docs_page_matches_the_table() -> None:
    """docs/bad-input.md is what make_bad_input_doc.py renders now: the two cannot drift."""
    assert DOC.read_text(encoding="utf-8") == rendered(), (
        "docs/bad-input.md is out of date: run python tests/reliability/make_bad_input_doc.py"
    )
