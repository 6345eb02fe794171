"""Property: any JSON value where a record is expected either decodes to the model, with every
non-essential field of a wrong type ``None`` (or empty) and its value listed in ``invalid_fields``,
or raises ``ResponseDecodeError`` naming an essential field or (no field) the body; never another
exception type.

The valid bodies that get mutated are the fake API's own answers (a full job record, a page in the
list shape, the voices and the models bodies), fetched once through its in-process transport.
"""

from __future__ import annotations

import copy
import json
from functools import cache
from typing import Any

import anyio
import attrs
import httpx
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st
from reliability_support import DETERMINISTIC

from pixverse_speech import ResponseDecodeError, Speech, SpeechModels, SpeechPage
from pixverse_speech._converter import ESSENTIAL, structure
from pixverse_speech._create import decode_created
from pixverse_speech._http import Secret, Sender
from pixverse_speech._models import VoiceList
from pixverse_speech._retry import RetryPolicy
from pixverse_speech.testing import FakeClock, FakeSpeechAPI

JSON = Any
Path = tuple[str | int, ...]

#: Every JSON value json.loads can return: NaN and the infinities included (Python reads them).
json_scalars = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=30)
)
json_values = st.recursive(
    json_scalars,
    lambda children: (
        st.lists(children, max_size=5) | st.dictionaries(st.text(max_size=15), children, max_size=5)
    ),
    max_leaves=25,
)


@cache
def valid_bodies() -> dict[str, JSON]:
    """The fake's answers for every decoded endpoint, with jobs in all four states."""

    async def fetch() -> dict[str, JSON]:
        clock = FakeClock()
        fake = FakeSpeechAPI(clock=clock, token=None)
        fake.add_job(prompt="Done already.", queued_for=0, generating_for=0)
        fake.add_job(prompt="Bad luck.", queued_for=0, generating_for=0, outcome="failed")
        fake.add_job(prompt="Still generating.", queued_for=0, generating_for=100)
        queued = fake.add_job(prompt="Still queued.", queued_for=100)
        clock.advance(1)
        bodies: dict[str, JSON] = {}
        async with httpx.AsyncClient(transport=fake.transport(), base_url="http://fake/v2/") as c:
            for audio_id in fake.audio_ids:
                bodies[f"job:{audio_id}"] = (await c.get(f"pixverse/speech/{audio_id}")).json()
            bodies["page"] = (await c.get("pixverse/speech/", params={"limit": 3})).json()
            bodies["voices"] = (await c.get("pixverse/speech/voices")).json()
            bodies["models"] = (await c.get("pixverse/speech/models")).json()
        assert bodies[f"job:{queued}"]["audio_status"] == 5
        return bodies

    return anyio.run(fetch)


def model_of(name: str) -> type:
    return {"page": SpeechPage, "voices": VoiceList, "models": SpeechModels}.get(name, Speech)


def paths(value: JSON, prefix: Path = ()) -> list[Path]:
    """The path of every value inside ``value`` (itself excluded), parents before children."""
    found: list[Path] = []
    if isinstance(value, (dict, list)):
        items = value.items() if isinstance(value, dict) else enumerate(value)
        for key, child in items:
            found.append((*prefix, key))
            found.extend(paths(child, (*prefix, key)))
    return found


def replaced(value: JSON, path: Path, new: JSON) -> JSON:
    """A deep copy of ``value`` with the value at ``path`` replaced by ``new``."""
    result = copy.deepcopy(value)
    target = result
    for step in path[:-1]:
        target = target[step]
    target[path[-1]] = new
    return result


def dotted(path: Path) -> str:
    """A path the way ``ResponseDecodeError.field`` writes it: ``data[0].audio_status``."""
    text = ""
    for step in path:
        text += f"[{step}]" if isinstance(step, int) else (f".{step}" if text else step)
    return text


@st.composite
def mutated_bodies(draw: st.DrawFn) -> tuple[str, Path, JSON]:
    """A valid body with one value anywhere inside it replaced by an arbitrary JSON value."""
    bodies = valid_bodies()
    name = draw(st.sampled_from(sorted(bodies)))
    body = bodies[name]
    path = draw(st.sampled_from(paths(body)))
    return name, path, replaced(body, path, draw(json_values))


def mutation(name: str, path: Path, new: JSON) -> tuple[str, Path, JSON]:
    """An explicit mutated-body case: body ``name`` with the value at ``path`` set to ``new``."""
    return name, path, replaced(valid_bodies()[name], path, new)


def records(value: object) -> list[Any]:
    """``value`` and every model inside it, parents first."""
    if not attrs.has(type(value)):
        return []
    found = [value]
    for field in attrs.fields(type(value)):
        inner = getattr(value, field.name)
        for item in inner if isinstance(inner, tuple) else (inner,):
            found.extend(records(item))
    return found


def assert_dropped_fields_are_empty(result: object) -> None:
    """Every key of every ``invalid_fields`` is a field now ``None``/``()``, or a list item."""
    for record in records(result):
        names = {field.name for field in attrs.fields(type(record))}
        for key in record.invalid_fields:
            name, bracket, _ = key.partition("[")
            assert name in names, (type(record).__name__, key)
            assert name not in ESSENTIAL.get(type(record), ()) or bracket, key
            if not bracket:
                assert getattr(record, name) in (None, ()), (key, getattr(record, name))


def assert_decodes_or_decode_error(body: JSON, cls: type) -> ResponseDecodeError | None:
    """``structure`` gives a ``cls`` or raises ``ResponseDecodeError`` naming an essential field
    of ``cls`` or the body; return that error."""
    try:
        result = structure(body, cls)
    except ResponseDecodeError as exc:
        error = exc
    else:
        assert isinstance(result, cls)
        assert_dropped_fields_are_empty(result)
        return None
    assert str(error), "a decode error with no message"
    assert error.field is None or error.field in ESSENTIAL[cls], error.field
    assert error.field is not None or not isinstance(body, dict), "a dict body named as the body"
    return error


def test_valid_bodies_decode() -> None:
    """Every valid body the fake sends decodes to its model (the mutations start from these)."""
    for name, body in valid_bodies().items():
        assert assert_decodes_or_decode_error(body, model_of(name)) is None, name


@pytest.mark.parametrize("cls", [Speech, SpeechPage, VoiceList, SpeechModels])
@settings(DETERMINISTIC, max_examples=150)
@given(body=json_values)
@example(body=[])
@example(body="{}")
@example(body={"audio_status": float("nan")})
@example(body={"data": [{"audio_status": 10**30}]})
@example(body={"created_at": "2026-02-30T00:00:00Z"})
@example(body={"voices": [{"style_tags": "calm"}]})
@example(body={"provider_groups": [{"models": [{"credit_formula": []}]}]})
def test_any_json_decodes_or_raises_decode_error(cls: type, body: JSON) -> None:
    """An arbitrary JSON value decodes to the model or raises ResponseDecodeError, nothing else."""
    assert_decodes_or_decode_error(body, cls)


@settings(DETERMINISTIC, max_examples=400)
@given(case=mutated_bodies())
@example(case=mutation("page", ("data", 1, "audio_status"), "5"))
@example(case=mutation("page", ("next_offset",), 2.5))
@example(case=mutation("page", ("has_more",), "false"))
@example(case=mutation("models", ("provider_groups", 0, "models", 1, "max_characters"), True))
@example(case=mutation("voices", ("voices", 0, "style_tags", 0), 7))
def test_mutated_record_decodes_or_names_the_field(case: tuple[str, Path, JSON]) -> None:
    """A valid body with one field replaced decodes, keeping an odd value in invalid_fields, or
    raises ResponseDecodeError naming the essential field replaced."""
    name, path, body = case
    cls = model_of(name)
    error = assert_decodes_or_decode_error(body, cls)
    if error is not None:
        # Nested records never fail their parent: only a top-level essential field can.
        assert error.field == path[0], (error.field, dotted(path))
        return
    result = structure(body, cls)
    if len(path) == 1 and isinstance(path[0], str) and hasattr(result, path[0]):
        new = body[path[0]]
        field = path[0]
        value = getattr(result, field)
        if field in result.invalid_fields:
            assert result.invalid_fields[field] is new
            assert value in (None, ())
        elif isinstance(value, tuple):  # every item decoded or kept as "field[i]"
            items = [key for key in result.invalid_fields if key.startswith(f"{field}[")]
            assert isinstance(new, list) or new is None
            assert len(value) + len(items) == len(new or [])
        else:
            assert (value is None) == (new is None), (field, new, value)


@settings(DETERMINISTIC, max_examples=150)
@given(body=json_values | mutated_bodies().map(lambda case: case[2]))
def test_decoded_speech_answers_status_questions(body: JSON) -> None:
    """A Speech that decoded answers is_final/is_completed/is_failed/status_name without error."""
    try:
        speech = structure(body, Speech)
    except ResponseDecodeError:
        return
    assert isinstance(speech.is_final, bool)
    assert isinstance(speech.is_completed, bool)
    assert isinstance(speech.is_failed, bool)
    assert isinstance(speech.status_name, str)
    assert not (speech.is_completed and speech.is_failed)


@settings(DETERMINISTIC, max_examples=150)
@given(
    body=json_values
    | json_values.map(lambda extra: {"audio_id": "user:1-pixverse:a@b.c-speech:1", "x": extra})
    | mutated_bodies().map(lambda case: case[2])
)
def test_create_answer_decodes_or_keeps_the_job_id(body: JSON) -> None:
    """A create answer gives a Speech with its audio_id or a ResponseDecodeError, job_may_exist."""
    try:
        speech = decode_created(body, redact=lambda text: text)
    except ResponseDecodeError as exc:
        error = exc
    else:
        assert isinstance(speech, Speech)
        assert isinstance(body, dict)
        assert speech.audio_id == body["audio_id"]
        return
    assert error.job_may_exist is True
    assert error.field == "audio_id"


#: A sender whose client never sends: only its body decoding is exercised.
SENDER = Sender(
    httpx.AsyncClient(transport=httpx.MockTransport(lambda request: httpx.Response(500))),
    base_url="http://fake/v2/",
    token=Secret("user:1-not-a-real-token"),
    timeout=httpx.Timeout(1.0),
    retry=RetryPolicy(),
    max_in_flight=1,
)


@settings(DETERMINISTIC, max_examples=100)
@given(text=st.text(max_size=40) | json_values.map(json.dumps))
def test_sender_decode_of_any_body_is_typed(text: str) -> None:
    """Any 2xx body, JSON or not (or not even UTF-8), decodes or raises ResponseDecodeError."""
    content = text.encode("utf-8", "surrogatepass")
    response = httpx.Response(200, content=content)
    try:
        body = SENDER._decode(response, content, None)
    except ResponseDecodeError as exc:
        error = exc
    else:
        assert json.dumps(body) == json.dumps(json.loads(text))
        return
    assert str(error).startswith("HTTP 200: the body is not JSON")
