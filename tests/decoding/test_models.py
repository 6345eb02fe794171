"""The decoded models: invalid_fields, coercions, the fast path agreeing with the tolerant one."""

from __future__ import annotations

import copy
import pickle
from datetime import datetime, timezone
from typing import Any

import attrs
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from pixverse_speech import AudioStatus, ResponseDecodeError, Speech, SpeechPage
from pixverse_speech._converter import SLOW_PATHS, converter, structure, to_wire

RECORD: dict[str, Any] = {
    "audio_id": "user:1-pixverse:me@example.com-speech:1",
    "asset_id": 1,
    "audio_status": 1,
    "status": "finish",
    "duration": 2,
    "file_size": 32119,
    "sample_rate": 44100,
    "credits": 1.5,
    "created_at": "2026-06-23T12:00:00Z",
    "updated_at": "2026-06-23T12:00:03.5+02:00",
    "audio_status_name": "COMPLETED",
    "audio_status_final": True,
}

json_scalars = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=12)
    | st.sampled_from(["2026-06-23T12:00:00Z", "2026-06-23T12:00:00", "2026-02-30T00:00:00Z"])
)
json_values = st.recursive(
    json_scalars,
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=5), children, max_size=3)
    ),
    max_leaves=6,
)
FIELDS = [f.name for f in attrs.fields(Speech) if f.name != "invalid_fields"]


def test_invalid_fields_is_a_read_only_mapping() -> None:
    """invalid_fields compares equal to a dict, cannot be changed, and is empty when clean."""
    speech = structure({**RECORD, "duration": "3s"}, Speech)
    assert speech.invalid_fields == {"duration": "3s"}
    with pytest.raises(TypeError):
        speech.invalid_fields["duration"] = 1  # type: ignore[index]
    assert structure(RECORD, Speech).invalid_fields == {}


def test_records_pickle_and_hash() -> None:
    """A record with odd fields survives pickling; hash ignores invalid_fields, == does not."""
    odd = structure({**RECORD, "duration": ["3s"]}, Speech)
    assert pickle.loads(pickle.dumps(odd)) == odd
    assert copy.deepcopy(odd) == odd
    fast = structure(RECORD, Speech)  # the fast path: absent fields read from the class
    assert pickle.loads(pickle.dumps(fast)) == fast
    assert attrs.evolve(fast, duration=9.0).duration == 9.0
    clean = attrs.evolve(odd, invalid_fields={})
    assert hash(odd) == hash(clean)
    assert odd != clean


def test_lossless_coercions_only() -> None:
    """An integral float is an int, an int a float, a numeric fail_code text; 2.5 is not an int."""
    speech = structure({**RECORD, "asset_id": 7.0, "duration": 3, "fail_code": 500043}, Speech)
    assert (speech.asset_id, speech.duration, speech.fail_code) == (7, 3.0, "500043")
    assert type(speech.asset_id) is int
    assert type(speech.duration) is float
    lossy = structure({**RECORD, "asset_id": 2.5, "duration": float("inf")}, Speech)
    assert (lossy.asset_id, lossy.duration) == (None, None)
    assert lossy.invalid_fields == {"asset_id": 2.5, "duration": float("inf")}


def test_statuses_and_timestamps() -> None:
    """audio_status is an AudioStatus or its raw int; timestamps are aware, naive ones UTC."""
    speech = structure({**RECORD, "updated_at": "2026-06-23T12:00:00"}, Speech)
    assert speech.audio_status is AudioStatus.COMPLETED
    assert speech.created_at == datetime(2026, 6, 23, 12, tzinfo=timezone.utc)
    assert speech.updated_at == datetime(2026, 6, 23, 12, tzinfo=timezone.utc)
    assert structure({**RECORD, "audio_status": 7}, Speech).audio_status == 7


def test_to_wire_puts_dropped_values_back() -> None:
    """to_wire gives the record as the API sent it, odd values included, without our extras."""
    body = {**RECORD, "duration": "3s"}
    wire = to_wire(structure(body, Speech))
    assert wire["duration"] == "3s"
    assert "invalid_fields" not in wire
    assert "skipped" not in to_wire(structure({"data": [body, {}]}, SpeechPage))


def test_unknown_and_reserved_keys_are_ignored() -> None:
    """Unknown keys, and keys named like our own extras, never become attributes."""
    speech = structure({**RECORD, "invalid_fields": {"x": 1}, "extra": 1}, Speech)
    assert speech.invalid_fields == {}
    assert not hasattr(speech, "extra")
    page = structure({"data": [], "skipped": 9}, SpeechPage)
    assert page.skipped == 0


def test_body_that_is_not_an_object_names_the_body() -> None:
    """A JSON value other than an object is a ResponseDecodeError with no field."""
    bodies: list[object] = [[], "x", 3, None]
    for body in bodies:
        with pytest.raises(ResponseDecodeError, match="JSON object") as info:
            structure(body, Speech)
        assert info.value.field is None


@settings(max_examples=300, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
@given(
    changes=st.dictionaries(
        st.sampled_from([*FIELDS, "extra"]), json_values | st.none(), max_size=4
    ),
    removed=st.sets(st.sampled_from(FIELDS), max_size=3),
)
@example(changes={"duration": float("nan")}, removed=set())
@example(changes={"audio_status": True}, removed=set())
@example(changes={"created_at": "2026-02-30T00:00:00Z"}, removed=set())
@example(changes={"asset_id": 10**400}, removed=set())
@example(changes={}, removed={"audio_id"})
def test_fast_path_decodes_as_the_tolerant_path(changes: dict[str, Any], removed: set[str]) -> None:
    """The fast path gives exactly what the tolerant path gives (or the same error), any body."""
    body = {k: v for k, v in {**RECORD, **changes}.items() if k not in removed}
    slow = SLOW_PATHS[Speech]
    outcomes = []
    for hook in (converter.get_structure_hook(Speech), slow):
        try:
            outcomes.append(hook(body, Speech))
        except Exception as exc:
            outcomes.append(type(exc))
    fast_result, slow_result = outcomes
    assert fast_result == slow_result
    if isinstance(fast_result, Speech):
        assert attrs.asdict(fast_result, recurse=False) == attrs.asdict(slow_result, recurse=False)
        fields = attrs.fields(Speech)
        assert [type(getattr(fast_result, f.name)) for f in fields] == [
            type(getattr(slow_result, f.name)) for f in fields
        ]
