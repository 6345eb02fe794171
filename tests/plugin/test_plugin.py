"""The pytest plugin: its fixtures, fake.client() outside pytest, and how pytest finds it."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from pixverse_speech import AsyncSpeechAPI, SpeechAPI, _timing
from pixverse_speech.testing import FakeClock, FakeSpeechAPI

ROOT = Path(__file__).resolve().parents[2]
PLUGIN = "pixverse_speech.testing.pytest_plugin"

pytestmark = pytest.mark.anyio


def test_speech_fake_is_fresh_on_a_fake_clock(speech_fake: FakeSpeechAPI[FakeClock]) -> None:
    """speech_fake is a FakeSpeechAPI with no jobs, on a FakeClock, with virtual time on."""
    assert isinstance(speech_fake.clock, FakeClock)
    assert speech_fake.audio_ids == []
    assert _timing.current().now() == speech_fake.clock.now()


async def test_speech_api_is_bound_to_the_fake(
    speech_fake: FakeSpeechAPI[FakeClock], speech_api: AsyncSpeechAPI
) -> None:
    """speech_api reaches speech_fake, and its waits run on the fake's clock."""
    audio_id = speech_fake.add_job(generating_for=120)
    speech = await speech_api.wait_until_final(audio_id)
    assert speech.is_completed
    assert speech_fake.clock.now() >= 120


async def test_fake_client_outside_pytest() -> None:
    """fake.client(**options) builds a client bound to the fake with the options given."""
    fake = FakeSpeechAPI(clock=FakeClock())
    audio_id = fake.add_job()
    async with fake.client(email="fake@example.com", max_retries=0) as api:
        assert api.email == "fake@example.com"
        assert (await api.get(audio_id)).audio_id == audio_id


def test_fake_client_refuses_options_it_sets() -> None:
    """Options the fake must set itself (base_url, transport, http_client) are a TypeError."""
    fake = FakeSpeechAPI()
    with pytest.raises(TypeError, match="base_url"):
        fake.client(base_url="http://127.0.0.1/")


def test_fake_sync_client() -> None:
    """fake.sync_client() is a SpeechAPI bound to the fake."""
    fake = FakeSpeechAPI(clock=FakeClock())
    audio_id = fake.add_job()
    with fake.sync_client() as api:
        assert isinstance(api, SpeechAPI)
        assert api.get(audio_id).audio_id == audio_id


# -- how pytest finds the plugin ------------------------------------------------------------------

USER_TESTS = textwrap.dedent(
    """
    import pytest

    pytestmark = pytest.mark.anyio
    seen = []


    @pytest.fixture
    def anyio_backend():
        return "asyncio"


    async def test_uses_the_fixtures(speech_fake, speech_api):
        audio_id = speech_fake.add_job(generating_for=60)
        assert (await speech_api.wait_until_final(audio_id)).is_completed
        seen.append(speech_api)


    def test_the_client_was_closed_after_the_test():
        assert seen and seen[0].is_closed
    """
)


def _entry_point() -> tuple[str, str]:
    """The pytest11 entry point pyproject.toml declares: (name, module)."""
    text = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    section = text.split("[project.entry-points.pytest11]", 1)[1].split("\n[", 1)[0]
    match = re.search(r'^"?([\w.]+)"?\s*=\s*"([\w.]+)"', section, re.MULTILINE)
    assert match, section
    return match.group(1), match.group(2)


def _run_user_suite(
    tmp_path: Path, *args: str, installed: bool
) -> subprocess.CompletedProcess[str]:
    (tmp_path / "test_user.py").write_text(USER_TESTS, encoding="utf-8")
    paths = [str(ROOT)]
    if installed:
        # What installing the package adds: a dist-info with the entry point pyproject declares.
        name, module = _entry_point()
        dist = tmp_path / "site" / "pixverse_speech_plugin_check-0.dist-info"
        dist.mkdir(parents=True)
        (dist / "METADATA").write_text(
            "Metadata-Version: 2.1\nName: pixverse-speech-plugin-check\nVersion: 0\n"
        )
        (dist / "entry_points.txt").write_text(f"[pytest11]\n{name} = {module}\n")
        paths.append(str(dist.parent))
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(paths)}
    env.pop("PYTEST_ADDOPTS", None)
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *args, "test_user.py"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=env,
        timeout=120,
        check=False,
    )


def test_entry_point_names_the_plugin_module() -> None:
    """The entry point is named after its module, so `-p <module>` and it are one plugin."""
    name, module = _entry_point()
    assert name == module == PLUGIN


@pytest.mark.parametrize(
    ("installed", "args"),
    [(False, ("-p", PLUGIN)), (True, ()), (True, ("-p", PLUGIN))],
    ids=["with -p", "installed", "installed and -p"],
)
def test_fixtures_in_a_user_suite(tmp_path: Path, installed: bool, args: tuple[str, ...]) -> None:
    """A user's suite gets the fixtures from the entry point or -p (or both, registered once)."""
    result = _run_user_suite(tmp_path, *args, installed=installed)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "2 passed" in result.stdout
