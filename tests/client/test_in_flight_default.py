"""The default number of requests in flight depends on the transport; an explicit one is kept."""

from __future__ import annotations

import httpx
import pytest

from pixverse_speech import AsyncSpeechAPI

TOKEN = "user:12345-s3cr3tT0kenValue9876"


@pytest.mark.parametrize(
    ("options", "expected"),
    [
        ({}, 8),
        ({"transport": httpx.MockTransport(lambda request: httpx.Response(204))}, 8),
        ({"transport": "aiohttp"}, 20),
        ({"max_connections": None}, 8),
        ({"max_connections": 3}, 3),
        ({"max_connections": 3, "transport": "aiohttp"}, 3),
    ],
    ids=["default", "custom-transport", "aiohttp", "none", "explicit", "explicit-aiohttp"],
)
def test_in_flight_default_by_transport(options: dict[str, object], expected: int) -> None:
    """max_connections=None means 8 on httpx's transport (or a given one), 20 on aiohttp."""
    api = AsyncSpeechAPI(TOKEN, **options)  # type: ignore[arg-type]
    assert api._sender.max_in_flight == expected
