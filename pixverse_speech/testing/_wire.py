"""What the fake's one handler takes and gives, independent of how the request arrived."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import parse_qsl, unquote

import attrs

__all__ = ["ApiError", "FakeRequest", "FakeResponse", "RecordedRequest", "json_response"]


@attrs.frozen
class FakeRequest:
    """One HTTP request as the transport or the ASGI app saw it.

    ``raw_path`` is still percent-encoded, so a ``%2F`` inside an id stays inside its segment.
    """

    method: str
    raw_path: str
    query_string: str = ""
    headers: tuple[tuple[str, str], ...] = ()
    body: bytes = b""

    @property
    def path(self) -> str:
        """The percent-decoded path."""
        return unquote(self.raw_path)

    @property
    def query(self) -> dict[str, str]:
        """The query parameters (the last value wins when a name repeats)."""
        return dict(parse_qsl(self.query_string, keep_blank_values=True))

    def header(self, name: str) -> str | None:
        """The first value of header ``name`` (case-insensitive), or ``None``."""
        name = name.lower()
        for key, value in self.headers:
            if key.lower() == name:
                return value
        return None


@attrs.frozen
class FakeResponse:
    """What to send back.  ``drop``: start the response, then break the connection."""

    status: int
    headers: tuple[tuple[str, str], ...] = ()
    body: bytes = b""
    drop: bool = False


def json_response(
    status: int, payload: Any, headers: tuple[tuple[str, str], ...] = ()
) -> FakeResponse:
    body = json.dumps(payload, ensure_ascii=False).encode()
    return FakeResponse(
        status=status,
        headers=(("content-type", "application/json"), *headers),
        body=body,
    )


class ApiError(Exception):
    """An error answer: ``{"error": message, "code": status}`` (``code`` left out on request)."""

    def __init__(
        self,
        status: int,
        message: str,
        *,
        with_code: bool = True,
        headers: tuple[tuple[str, str], ...] = (),
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.with_code = with_code
        self.headers = headers

    def response(self) -> FakeResponse:
        payload: dict[str, Any] = {"error": self.message}
        if self.with_code:
            payload["code"] = self.status
        return json_response(self.status, payload, self.headers)


@attrs.define
class RecordedRequest:
    """One request the fake received, as kept in ``FakeSpeechAPI.requests``.

    ``headers`` has lower-case names, and the ``authorization`` value is always ``"[REDACTED]"``:
    the fake never keeps a token.  ``body`` is the parsed JSON or form body (``None`` when there
    was none or it did not parse).  ``time`` is the fake's clock time on arrival.  ``status`` is
    the status answered (set before a delay fault's pause; ``None`` while being handled and for a
    dropped connection); ``fault`` names the kind of injected fault that hit it, if any.
    """

    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: dict[str, Any] | None
    time: float
    status: int | None = None
    fault: str | None = None
