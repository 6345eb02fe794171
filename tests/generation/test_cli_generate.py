"""`pixverse-speech generate`: files, manifest, resume after SIGKILL, exit codes, JSON lines."""

from __future__ import annotations

import io
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from pixverse_speech._cli import main
from pixverse_speech._cli._generate import GenerateProgress, read_items
from pixverse_speech._cli._main import EXIT_API, EXIT_FAILED, EXIT_OK, EXIT_TIMEOUT, EXIT_USAGE
from pixverse_speech._cli._output import Output
from pixverse_speech.testing import DEFAULT_VOICE_ID, FakeSpeechAPI, Fault

from ._support import billed_prompts, creates

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def served() -> Iterator[tuple[FakeSpeechAPI, str]]:
    """A fake enforcing 4 jobs per account, jobs of 0.3 s, served on 127.0.0.1 (real time)."""
    fake = FakeSpeechAPI(max_jobs=4, queued_for=0.1, generating_for=0.2)
    with fake.serve() as base_url:
        yield fake, base_url


def script(tmp_path: Path, lines: list[str], name: str = "script.txt") -> Path:
    path = tmp_path / name
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def run(served: tuple[FakeSpeechAPI, str], *args: str) -> tuple[int, str, str]:
    fake, base_url = served
    out, err = io.StringIO(), io.StringIO()
    code = main(
        ["generate", *args, "--base-url", base_url, "--token", fake.token or ""],
        stdout=out,
        stderr=err,
    )
    return code, out.getvalue(), err.getvalue()


def manifest(directory: Path) -> dict[str, dict[str, object]]:
    items: dict[str, dict[str, object]] = json.loads(
        (directory / "manifest.json").read_text(encoding="utf-8")
    )["items"]
    return items


def assert_every_file(fake: FakeSpeechAPI, directory: Path, numbers: list[int]) -> None:
    entries = manifest(directory)
    for number in numbers:
        entry = entries[str(number)]
        assert entry["state"] == "completed", entry
        audio_id = entry["audio_id"]
        assert isinstance(audio_id, str)
        assert (directory / f"{number}.mp3").read_bytes() == fake.media_bytes(audio_id)


def test_text_file_to_numbered_clips(served: tuple[FakeSpeechAPI, str], tmp_path: Path) -> None:
    """Each line becomes DIR/<line>.mp3 (blank lines skipped, numbering kept); exit code 0."""
    fake, _ = served
    path = script(tmp_path, ["First line.", "", "Third line.", "Fourth line."])
    out_dir = tmp_path / "clips"
    code, out, _ = run(served, str(path), "--voice-id", DEFAULT_VOICE_ID, "--out", str(out_dir))
    assert code == EXIT_OK, out
    assert sorted(p.name for p in out_dir.glob("*.mp3")) == ["1.mp3", "3.mp3", "4.mp3"]
    assert_every_file(fake, out_dir, [1, 3, 4])
    assert "3 of 3 lines done" in out
    assert sorted(p.name for p in out_dir.iterdir() if p.suffix != ".mp3") == ["manifest.json"]


def test_jsonl_settings_and_json_lines(served: tuple[FakeSpeechAPI, str], tmp_path: Path) -> None:
    """JSONL lines carry create() settings; --json prints one object per finished item."""
    fake, _ = served
    path = script(
        tmp_path,
        [
            json.dumps({"text": "Fast one.", "speed": 1.5}),
            json.dumps({"text": "Other voice.", "voice_id": "minimax_english_wise_woman"}),
        ],
        name="script.jsonl",
    )
    out_dir = tmp_path / "clips"
    code, out, _ = run(
        served, str(path), "--voice-id", DEFAULT_VOICE_ID, "--out", str(out_dir), "--json"
    )
    assert code == EXIT_OK
    records = [json.loads(line) for line in out.splitlines()]
    assert sorted(r["line"] for r in records) == [1, 2]
    assert all(r["status"] == "COMPLETED" and Path(r["file"]).exists() for r in records)
    bodies = {r.body["text"]: r.body for r in creates(fake) if r.body}
    assert bodies["Fast one."]["speed"] == "1.5"
    assert bodies["Other voice."]["voice_id"] == "minimax_english_wise_woman"


def test_a_bad_line_is_a_usage_error_naming_it(
    served: tuple[FakeSpeechAPI, str], tmp_path: Path
) -> None:
    """A bad JSONL line exits 2 naming the file and line, before any request."""
    fake, _ = served
    path = script(tmp_path, ['{"text": "ok"}', '{"text": "bad", "pitch": "high"}'])
    code, _, err = run(served, str(path), "--voice-id", DEFAULT_VOICE_ID, "--out", str(tmp_path))
    assert code == EXIT_USAGE
    assert "script.txt:2" in err
    assert "pitch" in err
    assert fake.requests == []


def test_failed_after_resubmission_exits_4(
    served: tuple[FakeSpeechAPI, str], tmp_path: Path
) -> None:
    """A line whose every try FAILED is recorded as failed, with both ids; exit code 4."""
    fake, _ = served
    fake.fail_next(2)
    path = script(tmp_path, ["Doomed line."])
    code, _, _ = run(
        served, str(path), "--voice-id", DEFAULT_VOICE_ID, "--out", str(tmp_path / "o")
    )
    assert code == EXIT_FAILED
    entry = manifest(tmp_path / "o")["1"]
    assert entry["state"] == "failed"
    assert isinstance(entry["audio_ids"], list)
    assert len(entry["audio_ids"]) == 2


def test_timeout_exits_5(served: tuple[FakeSpeechAPI, str], tmp_path: Path) -> None:
    """A batch past its deadline exits 5 and keeps the created ids in the manifest."""
    fake, _ = served
    fake.add_job(prompt="a long job of someone else", queued_for=0, generating_for=30)
    fake.max_jobs = 1
    try:
        path = script(tmp_path, ["Never gets a slot."])
        code, _, err = run(
            served,
            str(path),
            "--voice-id",
            DEFAULT_VOICE_ID,
            "--out",
            str(tmp_path / "o"),
            "--timeout",
            "1.5",
        )
    finally:
        fake.max_jobs = 4
    assert code == EXIT_TIMEOUT
    assert "deadline" in err


def test_resume_adopts_a_job_caught_submitting(
    served: tuple[FakeSpeechAPI, str], tmp_path: Path
) -> None:
    """A line left `submitting` whose job exists is adopted on the rerun, not created again."""
    fake, _ = served
    out_dir = tmp_path / "o"
    out_dir.mkdir()
    path = script(tmp_path, ["Already sent once.", "Never sent."])
    landed = fake.add_job(prompt="Already sent once.", voice_id=DEFAULT_VOICE_ID)
    (out_dir / "manifest.json").write_text(
        json.dumps(
            {
                "version": 1,
                "items": {
                    "1": {"text": "Already sent once.", "state": "submitting", "audio_ids": []},
                    "2": {"text": "Never sent.", "state": "queued", "audio_ids": []},
                },
            }
        ),
        encoding="utf-8",
    )
    code, _, _ = run(served, str(path), "--voice-id", DEFAULT_VOICE_ID, "--out", str(out_dir))
    assert code == EXIT_OK
    assert manifest(out_dir)["1"]["audio_id"] == landed
    assert billed_prompts(fake)["Already sent once."] == 1
    assert [r.body["text"] for r in creates(fake) if r.body] == ["Never sent."]


def test_rerun_skips_finished_lines(served: tuple[FakeSpeechAPI, str], tmp_path: Path) -> None:
    """Running the same command twice creates nothing the second time."""
    fake, _ = served
    path = script(tmp_path, ["One.", "Two."])
    args = (str(path), "--voice-id", DEFAULT_VOICE_ID, "--out", str(tmp_path / "o"))
    assert run(served, *args)[0] == EXIT_OK
    sent = len(creates(fake))
    assert run(served, *args)[0] == EXIT_OK
    assert len(creates(fake)) == sent


def test_sigkill_mid_batch_then_rerun_bills_nothing_twice(
    served: tuple[FakeSpeechAPI, str], tmp_path: Path
) -> None:
    """The CLI killed with SIGKILL mid-batch and run again: every line ends with its file, and
    the fake's ledger holds exactly one job per line."""
    fake, base_url = served
    lines = [f"Chapter one, sentence {n}." for n in range(1, 17)]
    path = script(tmp_path, lines)
    out_dir = tmp_path / "o"
    command = [
        sys.executable,
        "-m",
        "pixverse_speech",
        "generate",
        str(path),
        "--voice-id",
        DEFAULT_VOICE_ID,
        "--out",
        str(out_dir),
        "--json",
        "--base-url",
        base_url,
        "--token",
        fake.token or "",
    ]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    env.pop("USEAPI_TOKEN", None)
    process = subprocess.Popen(
        command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    try:
        deadline = time.monotonic() + 60
        while len(fake.audio_ids) < 6 and process.poll() is None:
            assert time.monotonic() < deadline, "the CLI never got going"
            time.sleep(0.01)
        process.send_signal(signal.SIGKILL)
    finally:
        _, stderr = process.communicate(timeout=30)
    assert process.returncode == -signal.SIGKILL, stderr.decode()
    first_run = len(fake.audio_ids)
    assert first_run < len(lines)
    rerun = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, timeout=120)
    assert rerun.returncode == EXIT_OK, rerun.stderr.decode()
    assert_every_file(fake, out_dir, list(range(1, 17)))
    assert billed_prompts(fake) == dict.fromkeys(lines, 1)


def test_read_items_detects_jsonl(tmp_path: Path) -> None:
    """A file whose every line is an object is JSONL; otherwise each line is a text."""
    jsonl = script(tmp_path, ['{"text": "a"}', "", '{"text": "b", "speed": 1.2}'], "x.txt")
    assert read_items(jsonl) == [(1, {"text": "a"}), (3, {"text": "b", "speed": 1.2})]
    text = script(tmp_path, ["{not json} but text", "plain"], "y.txt")
    assert read_items(text) == [(1, "{not json} but text"), (2, "plain")]


def test_progress_line_counts_and_eta() -> None:
    """The progress line shows done, running, queued, failed and an ETA from the jobs' pace."""
    now = [100.0]
    progress = GenerateProgress(
        10, Output(json_lines=False), stream=io.StringIO(), clock=lambda: now[0]
    )
    for index in range(4):
        progress.job_started(index)
    progress.counts(running=4, queued=6)
    assert progress.eta() is None
    now[0] = 130.0
    progress.job_ended(0)
    progress.job_ended(1)
    progress.done, progress.failed = 1, 1
    progress.counts(running=2, queued=6)
    assert progress.eta() == pytest.approx(30.0 * 8 / 4)
    assert progress.status_line() == (
        "done 1/10 · running 2 · queued 6 · failed 1 · elapsed 30s · ETA 1m00s"
    )
    assert progress.bar(width=10) == "██░░░░░░░░  20%"


def test_a_failed_download_is_retried_by_the_rerun_without_a_create(
    served: tuple[FakeSpeechAPI, str], tmp_path: Path
) -> None:
    """A clip that could not be downloaded keeps its job: the rerun downloads it, creating none."""
    fake, _ = served
    fake.inject(Fault.status(404), method="GET", path="/media/", times=1)
    path = script(tmp_path, ["Download me."])
    args = (str(path), "--voice-id", DEFAULT_VOICE_ID, "--out", str(tmp_path / "o"))
    assert run(served, *args)[0] == EXIT_API
    assert manifest(tmp_path / "o")["1"]["state"] == "running"
    assert run(served, *args)[0] == EXIT_OK
    assert_every_file(fake, tmp_path / "o", [1])
    assert len(creates(fake)) == 1


def test_a_changed_line_is_a_usage_error(served: tuple[FakeSpeechAPI, str], tmp_path: Path) -> None:
    """A line whose text changed since the manifest was written exits 2 and sends nothing."""
    fake, _ = served
    args = ("--voice-id", DEFAULT_VOICE_ID, "--out", str(tmp_path / "o"))
    assert run(served, str(script(tmp_path, ["Original."])), *args)[0] == EXIT_OK
    fake.reset_stats()
    code, _, err = run(served, str(script(tmp_path, ["Edited."])), *args)
    assert code == EXIT_USAGE
    assert "changed" in err
    assert fake.requests == []
