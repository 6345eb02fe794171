"""The pixverse-speech command, end to end against the fake API served on 127.0.0.1."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from pixverse_speech._cli import main
from pixverse_speech._cli._main import (
    EXIT_API,
    EXIT_FAILED,
    EXIT_OK,
    EXIT_TIMEOUT,
    EXIT_USAGE,
)
from pixverse_speech.testing import DEFAULT_VOICE_ID, FakeSpeechAPI

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def served() -> Iterator[tuple[FakeSpeechAPI, str]]:
    fake = FakeSpeechAPI(queued_for=0.05, generating_for=0.1, max_jobs=8)
    with fake.serve() as base_url:
        yield fake, base_url


@pytest.fixture(autouse=True)
def _no_env_token(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("USEAPI_TOKEN", raising=False)


def run(served: tuple[FakeSpeechAPI, str], *args: str) -> tuple[int, str, str]:
    fake, base_url = served
    out, err = io.StringIO(), io.StringIO()
    code = main(
        [*args, "--base-url", base_url, "--token", fake.token or ""], stdout=out, stderr=err
    )
    return code, out.getvalue(), err.getvalue()


def test_list_prints_a_table_of_jobs(served: tuple[FakeSpeechAPI, str]) -> None:
    """`list` prints one row per job with its full, uncut audio_id."""
    fake, _ = served
    audio_id = fake.add_job(prompt="table row")
    code, out, _ = run(served, "list")
    assert code == EXIT_OK
    assert audio_id in out
    assert "AUDIO ID" in out


def test_list_all_json_lines(served: tuple[FakeSpeechAPI, str]) -> None:
    """`list --all --json` pages through everything and prints one JSON object per line."""
    fake, _ = served
    for _ in range(3):
        fake.add_job()
    code, out, _ = run(served, "list", "--all", "--limit", "2", "--json")
    assert code == EXIT_OK
    records = [json.loads(line) for line in out.splitlines()]
    assert {r["audio_id"] for r in records} == set(fake.audio_ids)
    assert len(records) == len(fake.audio_ids)


def test_get_json_has_every_field(served: tuple[FakeSpeechAPI, str]) -> None:
    """`get ID --json` prints the job's record, timestamps as ISO strings."""
    fake, _ = served
    audio_id = fake.add_job()
    code, out, _ = run(served, "get", audio_id, "--json")
    assert code == EXIT_OK
    record = json.loads(out)
    assert record["audio_id"] == audio_id
    assert record["created_at"].endswith("Z")


def test_unknown_id_is_one_line_and_exit_3(served: tuple[FakeSpeechAPI, str]) -> None:
    """An API error prints one line on stderr, no traceback, and exits with 3."""
    code, out, err = run(served, "get", "user:1-pixverse:fake@example.com-speech:1")
    assert code == EXIT_API
    assert out == ""
    assert err.count("\n") == 1
    assert "404" in err
    assert "Traceback" not in err


def test_wait_reports_each_job_and_exit_4_on_failure(served: tuple[FakeSpeechAPI, str]) -> None:
    """`wait` waits for several ids at once and exits 4 when one of them FAILED."""
    fake, _ = served
    good = fake.add_job()
    bad = fake.add_job(outcome="failed", fail_reason="backend hiccup")
    code, out, err = run(served, "wait", good, bad, "--poll-interval", "0.05")
    assert code == EXIT_FAILED
    assert "COMPLETED" in out
    assert "backend hiccup" in out
    assert "1 completed, 1 failed" in out
    assert good in err  # the progress lines go to stderr


def test_wait_all_completed_exit_0_json(served: tuple[FakeSpeechAPI, str]) -> None:
    """`wait --json` prints one final record per id, in order, and exits 0."""
    fake, _ = served
    ids = [fake.add_job(), fake.add_job()]
    code, out, _ = run(served, "wait", *ids, "--poll-interval", "0.05", "--json")
    assert code == EXIT_OK
    assert [json.loads(line)["audio_id"] for line in out.splitlines()] == ids


def test_wait_timeout_exit_5(served: tuple[FakeSpeechAPI, str]) -> None:
    """A wait that reaches its deadline exits with 5 and names the job."""
    fake, _ = served
    slow = fake.add_job(generating_for=3600)
    code, out, _ = run(served, "wait", slow, "--timeout", "0.3", "--poll-interval", "0.05")
    assert code == EXIT_TIMEOUT
    assert slow in out
    assert "TIMED OUT" in out


def test_create_and_wait(served: tuple[FakeSpeechAPI, str]) -> None:
    """`create TEXT --voice-id V --wait --json` starts a job and prints its final record."""
    code, out, _ = run(
        served, "create", "Hello there.", "--voice-id", DEFAULT_VOICE_ID, "--wait", "--json"
    )
    assert code == EXIT_OK
    record = json.loads(out)
    assert record["prompt"] == "Hello there."
    assert record["audio_status_name"] == "COMPLETED"


def test_create_bad_input_is_a_usage_error(served: tuple[FakeSpeechAPI, str]) -> None:
    """A setting out of range is refused before any request, with exit code 2."""
    fake, _ = served
    before = len(fake.requests)
    code, _, err = run(served, "create", "Hi", "--voice-id", DEFAULT_VOICE_ID, "--pitch", "40")
    assert code == EXIT_USAGE
    assert "pitch" in err
    assert len(fake.requests) == before


def test_voices_and_models(served: tuple[FakeSpeechAPI, str]) -> None:
    """`voices` and `models` print the catalog."""
    code, out, _ = run(served, "voices")
    assert code == EXIT_OK
    assert DEFAULT_VOICE_ID in out
    code, out, _ = run(served, "models", "--json")
    assert code == EXIT_OK
    assert json.loads(out)["default_model"]


def test_missing_token_is_a_usage_error() -> None:
    """Without --token or USEAPI_TOKEN the command exits 2 and names USEAPI_TOKEN."""
    err = io.StringIO()
    code = main(["list"], stdout=io.StringIO(), stderr=err)
    assert code == EXIT_USAGE
    assert "USEAPI_TOKEN" in err.getvalue()


def test_bad_arguments_exit_2() -> None:
    """argparse's usage errors exit 2."""
    code = main(["list", "--limit", "0"], stdout=io.StringIO(), stderr=io.StringIO())
    assert code == EXIT_USAGE


def test_token_never_printed(served: tuple[FakeSpeechAPI, str]) -> None:
    """The token appears in neither output stream, even with --debug logging."""
    fake, _ = served
    code, out, err = run(served, "get", "user:1-pixverse:fake@example.com-speech:2", "--json")
    assert code == EXIT_API
    assert fake.token
    assert fake.token not in out + err


def test_demo_in_process() -> None:
    """`demo --json` runs on the in-process fake, ends as scripted and recovers from its faults."""
    out, err = io.StringIO(), io.StringIO()
    code = main(["demo", "--json", "--speed", "8"], stdout=out, stderr=err)
    assert code == EXIT_OK, err.getvalue()
    lines = [json.loads(line) for line in out.getvalue().splitlines()]
    summary = lines[-1]["summary"]
    assert summary["jobs"] == 5
    assert summary["faults_injected"] == 2
    assert summary["faults_recovered"] == 2
    statuses = [line.get("audio_status_name") for line in lines[:-1]]
    assert statuses.count("FAILED") == 1
    assert statuses.count("COMPLETED") == 4


def test_readme_demo_command_as_a_user_runs_it() -> None:
    """`python -m pixverse_speech demo` works in a fresh process with no token set."""
    env = {k: v for k, v in os.environ.items() if k != "USEAPI_TOKEN"}
    result = subprocess.run(
        [sys.executable, "-m", "pixverse_speech", "demo", "--speed", "8"],
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "4 completed, 1 failed" in result.stdout
