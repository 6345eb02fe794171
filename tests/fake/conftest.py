"""Fixtures for the fake speech API's own tests: backends, a fake on a fake clock, two ways in."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack
from typing import Any

import httpx
import pytest

from pixverse_speech.testing import FakeClock, FakeSpeechAPI

TOKEN = "user:1-fake-token"


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def fake(clock: FakeClock) -> FakeSpeechAPI:
    return FakeSpeechAPI(clock=clock)


class Connector:
    """Makes httpx clients that reach a fake either in-process or over a served socket."""

    def __init__(self, mode: str, default: FakeSpeechAPI, stack: ExitStack) -> None:
        self.mode = mode
        self._default = default
        self._stack = stack
        self._served: dict[int, str] = {}

    @property
    def served(self) -> bool:
        return self.mode == "served"

    def base_url(self, fake: FakeSpeechAPI | None = None) -> str:
        fake = fake or self._default
        if not self.served:
            return "http://fake/v2/"
        if id(fake) not in self._served:
            self._served[id(fake)] = self._stack.enter_context(fake.serve())
        return self._served[id(fake)]

    def __call__(
        self, fake: FakeSpeechAPI | None = None, *, auth: bool = True, **kwargs: Any
    ) -> httpx.AsyncClient:
        fake = fake or self._default
        headers = {"Authorization": f"Bearer {TOKEN}"} if auth else {}
        headers.update(kwargs.pop("headers", {}))
        kwargs.setdefault("timeout", 5.0)
        base_url = self.base_url(fake)
        if self.served:
            return httpx.AsyncClient(base_url=base_url, headers=headers, trust_env=False, **kwargs)
        return httpx.AsyncClient(
            transport=fake.transport(), base_url=base_url, headers=headers, **kwargs
        )


@pytest.fixture(params=["in-process", "served"])
def connect(request: pytest.FixtureRequest, fake: FakeSpeechAPI) -> Iterator[Connector]:
    """A client factory for the fake: in-process transport, or uvicorn on 127.0.0.1."""
    with ExitStack() as stack:
        yield Connector(str(request.param), fake, stack)


@pytest.fixture
def inproc(fake: FakeSpeechAPI) -> Iterator[Connector]:
    """A client factory for the fake, in-process only (for the many pure-logic checks)."""
    with ExitStack() as stack:
        yield Connector("in-process", fake, stack)
