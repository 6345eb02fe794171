"""Fixtures of the performance-shaped tests: every async test runs under asyncio and trio."""

from __future__ import annotations

import pytest


@pytest.fixture(params=["asyncio", "trio"])
def anyio_backend(request: pytest.FixtureRequest) -> str:
    """The async backend; asyncio-only tests override it with ``parametrize``."""
    return str(request.param)
