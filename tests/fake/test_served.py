"""Serving the fake over a real socket with uvicorn, and importing it without uvicorn."""

from __future__ import annotations

import socket
import subprocess
import sys
import threading

import httpx
import pytest

from pixverse_speech.testing import FakeClock, FakeSpeechAPI


def test_serve_yields_a_local_base_url_and_shuts_down() -> None:
    """serve() listens on 127.0.0.1, yields http://127.0.0.1:<port>/v2/, and stops on exit."""
    fake = FakeSpeechAPI(clock=FakeClock())
    threads_before = set(threading.enumerate())
    with fake.serve() as base_url:
        assert base_url.startswith("http://127.0.0.1:")
        assert base_url.endswith("/v2/")
        port = int(base_url.split(":")[2].split("/")[0])
        with httpx.Client(base_url=base_url, trust_env=False, timeout=5) as client:
            response = client.get(
                "pixverse/speech/models", headers={"Authorization": f"Bearer {fake.token}"}
            )
        assert response.status_code == 200
        assert fake.requests[-1].path == "/v2/pixverse/speech/models"
    assert set(threading.enumerate()) <= threads_before
    with socket.socket() as probe:
        probe.settimeout(1)
        with pytest.raises(ConnectionRefusedError):
            probe.connect(("127.0.0.1", port))


def test_served_media_url_points_at_the_server_only_while_served() -> None:
    """A completed job's url uses the server's origin while served, the .invalid host otherwise."""
    fake = FakeSpeechAPI(clock=FakeClock())
    audio_id = fake.add_job(queued_for=0, generating_for=0)
    with fake.serve() as base_url:
        served_url = fake.job(audio_id)["url"]
        with httpx.Client(trust_env=False, timeout=5) as client:
            audio = client.get(served_url).content
    assert served_url.startswith(base_url.removesuffix("/v2/") + "/media/")
    assert audio == fake.media_bytes(audio_id)
    assert fake.job(audio_id)["url"].startswith("https://media.example.invalid/media/")


def test_importing_the_fake_does_not_import_uvicorn() -> None:
    """pixverse_speech.testing imports without pulling in uvicorn (an optional dependency)."""
    code = (
        "import sys, pixverse_speech.testing as t; t.FakeSpeechAPI().transport(); "
        "sys.exit('uvicorn' in sys.modules)"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, timeout=60)
    assert result.returncode == 0, result.stderr.decode()
