"""Injected faults: what can go wrong between a client and the API, on demand.

A :class:`StatusFault` or :class:`MalformedFault` answers *instead of* the API (the request has no
effect).  A :class:`DelayFault` or :class:`DropFault` lets the API act first and then holds or
breaks the response, so a create that "failed" this way has still created its job, as it would
upstream.
"""

from __future__ import annotations

import http
import json
import random
import re
import threading
from collections.abc import Mapping
from typing import Any

import attrs

from ._wire import FakeRequest, FakeResponse

__all__ = [
    "DelayFault",
    "DropFault",
    "Fault",
    "FaultHandle",
    "FaultSet",
    "MalformedFault",
    "StatusFault",
]


def _headers(value: Mapping[str, str] | None) -> tuple[tuple[str, str], ...]:
    return tuple((str(k), str(v)) for k, v in (value or {}).items())


@attrs.frozen
class Fault:
    """Base of the fault kinds; build them with the class methods below."""

    @property
    def kind(self) -> str:
        """``"status"``, ``"delay"``, ``"drop"`` or ``"malformed"``."""
        raise NotImplementedError

    @staticmethod
    def status(
        status_code: int,
        *,
        body: str | bytes | Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
        content_type: str | None = None,
    ) -> StatusFault:
        """Answer with ``status_code``.

        The default body is the platform's ``{"error": <reason>, "code": <status>}``; a mapping is
        sent as JSON, a ``str``/``bytes`` as it is (``text/plain`` unless ``content_type`` says
        otherwise), e.g. ``Fault.status(502, body="<html>...", content_type="text/html")``.
        """
        if not 100 <= status_code <= 999:
            raise ValueError(f"not an HTTP status: {status_code!r}")
        if body is None:
            try:
                reason = http.HTTPStatus(status_code).phrase
            except ValueError:
                reason = "Error"
            body = {"error": reason, "code": status_code}
        if isinstance(body, Mapping):
            raw = json.dumps(dict(body)).encode()
            default_type = "application/json"
        else:
            raw = body.encode() if isinstance(body, str) else bytes(body)
            default_type = "text/plain; charset=utf-8"
        return StatusFault(
            status_code=status_code,
            body=raw,
            content_type=content_type or default_type,
            headers=_headers(headers),
        )

    @staticmethod
    def delay(seconds: float) -> DelayFault:
        """Hold the normal response back for ``seconds`` of real time."""
        if not seconds >= 0:
            raise ValueError(f"delay must be >= 0 seconds, got {seconds!r}")
        return DelayFault(seconds=float(seconds))

    @staticmethod
    def drop() -> DropFault:
        """Let the API act, send the response's status line and headers, then cut the connection.

        An httpx client sees ``httpx.RemoteProtocolError`` (in-process and over a socket alike).
        """
        return DropFault()

    @staticmethod
    def malformed(
        body: str | bytes = b'{"audio_id": "user:1-pixverse:fake@exa',
        *,
        status_code: int = 200,
        content_type: str = "application/json",
    ) -> MalformedFault:
        """Answer ``status_code`` (200) with a body that is not the JSON it claims to be."""
        raw = body.encode() if isinstance(body, str) else bytes(body)
        return MalformedFault(status_code=status_code, body=raw, content_type=content_type)


@attrs.frozen
class StatusFault(Fault):
    """Answer with an error status instead of the API."""

    status_code: int
    body: bytes
    content_type: str
    headers: tuple[tuple[str, str], ...] = ()

    @property
    def kind(self) -> str:
        """``"status"``."""
        return "status"

    def response(self) -> FakeResponse:
        """The answer sent instead of the API's."""
        return FakeResponse(
            status=self.status_code,
            headers=(("content-type", self.content_type), *self.headers),
            body=self.body,
        )


@attrs.frozen
class MalformedFault(Fault):
    """Answer with a body that does not decode."""

    status_code: int
    body: bytes
    content_type: str

    @property
    def kind(self) -> str:
        """``"malformed"``."""
        return "malformed"

    def response(self) -> FakeResponse:
        """The answer sent instead of the API's."""
        return FakeResponse(
            status=self.status_code,
            headers=(("content-type", self.content_type),),
            body=self.body,
        )


@attrs.frozen
class DelayFault(Fault):
    """The normal response, ``seconds`` late."""

    seconds: float

    @property
    def kind(self) -> str:
        """``"delay"``."""
        return "delay"


@attrs.frozen
class DropFault(Fault):
    """The normal response's head, then a broken connection."""

    @property
    def kind(self) -> str:
        """``"drop"``."""
        return "drop"


class FaultHandle:
    """One injected fault and its rule; ``cancel()`` takes it out."""

    def __init__(
        self,
        owner: FaultSet,
        fault: Fault,
        *,
        method: str | None,
        path: str | re.Pattern[str] | None,
        times: int | None,
        probability: float | None,
    ) -> None:
        self._owner = owner
        self.fault = fault
        self.method = method.upper() if method is not None else None
        self.path = path
        self.times = times
        self.probability = probability
        self.fired = 0
        self.cancelled = False

    def __repr__(self) -> str:
        return (
            f"FaultHandle({self.fault!r}, method={self.method!r}, path={self.path!r}, "
            f"times={self.times!r}, probability={self.probability!r}, fired={self.fired})"
        )

    @property
    def active(self) -> bool:
        """Whether the fault can still fire."""
        return not self.cancelled and (self.times is None or self.fired < self.times)

    @property
    def remaining(self) -> int | None:
        """How many more times it may fire (``None``: unlimited)."""
        return None if self.times is None else max(0, self.times - self.fired)

    def cancel(self) -> None:
        """Stop the fault from firing again."""
        self._owner.remove(self)

    def matches(self, request: FakeRequest) -> bool:
        """Whether ``request`` is one this fault applies to (method and path)."""
        if self.method is not None and request.method.upper() != self.method:
            return False
        if self.path is None:
            return True
        path = request.path
        if isinstance(self.path, re.Pattern):
            return self.path.search(path) is not None
        return self.path in path


class FaultSet:
    """The injected faults of one fake, in the order injected; the first one that fires wins."""

    def __init__(self, seed: int | None) -> None:
        self._lock = threading.Lock()
        self._handles: list[FaultHandle] = []
        self._random = random.Random(seed)
        self.injected = 0

    def add(
        self,
        fault: Fault,
        *,
        method: str | None = None,
        path: str | re.Pattern[str] | None = None,
        times: int | None = None,
        probability: float | None = None,
    ) -> FaultHandle:
        if not isinstance(fault, (StatusFault, MalformedFault, DelayFault, DropFault)):
            raise TypeError(f"not a fault: {fault!r}; build one with Fault.status(...) etc.")
        if times is not None and (
            isinstance(times, bool) or not isinstance(times, int) or times < 1
        ):
            raise ValueError(f"times must be a positive integer or None, got {times!r}")
        if probability is not None and not 0.0 <= probability <= 1.0:
            raise ValueError(f"probability must be within [0, 1], got {probability!r}")
        handle = FaultHandle(
            self, fault, method=method, path=path, times=times, probability=probability
        )
        with self._lock:
            self._handles.append(handle)
        return handle

    def remove(self, handle: FaultHandle) -> None:
        with self._lock:
            handle.cancelled = True
            if handle in self._handles:
                self._handles.remove(handle)

    def clear(self) -> None:
        with self._lock:
            for handle in self._handles:
                handle.cancelled = True
            self._handles.clear()

    def reset_tally(self) -> None:
        with self._lock:
            self.injected = 0

    @property
    def handles(self) -> list[FaultHandle]:
        with self._lock:
            return list(self._handles)

    def pick(self, request: FakeRequest) -> Fault | None:
        """The fault that hits ``request``, if any, counting it as fired."""
        with self._lock:
            for handle in self._handles:
                if not handle.active or not handle.matches(request):
                    continue
                if handle.probability is not None and not (
                    self._random.random() < handle.probability
                ):
                    continue
                handle.fired += 1
                self.injected += 1
                return handle.fault
            return None
