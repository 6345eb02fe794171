"""SpeechAPI in a user's script: a plain ``def main()``, and the same from a running loop's thread.

Each script runs in a fresh interpreter against the fake API served on 127.0.0.1; the client is
configured only through ``USEAPI_TOKEN`` and ``USEAPI_BASE_URL``, as a deployed script would be.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

from pixverse_speech.testing import DEFAULT_VOICE_ID, FakeSpeechAPI

ROOT = Path(__file__).resolve().parents[2]

SCRIPT = textwrap.dedent(
    f"""
    import sys

    from pixverse_speech import SpeechAPI


    def main() -> None:
        with SpeechAPI() as api:
            created = api.create("Hello from a script.", {DEFAULT_VOICE_ID!r})
            assert created.audio_id is not None
            final = api.wait_until_final(
                created.audio_id, timeout=30, poll_interval=0.05, max_poll_interval=0.1
            )
            listed = [speech.audio_id for speech in api.iter_speech(page_size=1)]
            print(final.audio_id, final.status_name, len(listed))


    if __name__ == "__main__":
        if sys.argv[1:] == ["in-a-loop"]:
            import asyncio

            async def cell() -> None:
                main()  # a blocking call in a thread that runs an event loop, as in Jupyter

            asyncio.run(cell())
        else:
            main()
    """
)


@pytest.fixture(scope="module")
def served() -> Iterator[tuple[FakeSpeechAPI, str]]:
    fake = FakeSpeechAPI(queued_for=0.05, generating_for=0.1, max_jobs=8)
    with fake.serve() as base_url:
        yield fake, base_url


def run_script(served: tuple[FakeSpeechAPI, str], tmp_path: Path, *args: str) -> list[str]:
    fake, base_url = served
    script = tmp_path / "script.py"
    script.write_text(SCRIPT, encoding="utf-8")
    env = {
        **os.environ,
        "USEAPI_TOKEN": fake.token or "",
        "USEAPI_BASE_URL": base_url,
        "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]),
    }
    result = subprocess.run(
        [sys.executable, str(script), *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout.split()


def test_plain_main_against_a_served_fake(
    served: tuple[FakeSpeechAPI, str], tmp_path: Path
) -> None:
    """A script's plain def main() creates, waits for and lists a job with SpeechAPI."""
    fake, _ = served
    audio_id, status, listed = run_script(served, tmp_path)
    assert status == "COMPLETED"
    assert audio_id in fake.audio_ids
    assert int(listed) == len(fake.audio_ids)


def test_same_script_from_a_thread_running_an_event_loop(
    served: tuple[FakeSpeechAPI, str], tmp_path: Path
) -> None:
    """The same main() works when called inside asyncio.run(), where a loop already runs."""
    fake, _ = served
    audio_id, status, _ = run_script(served, tmp_path, "in-a-loop")
    assert status == "COMPLETED"
    assert audio_id in fake.audio_ids
