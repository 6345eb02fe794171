"""The fake's one implementation: a request in, a response (or a fault) out.

The in-process transport, the ASGI app and the served mode all call :meth:`Handler.handle`.
"""

from __future__ import annotations

import hmac
import re
import threading
from typing import Any
from urllib.parse import unquote

import anyio
import attrs

from ._catalog import DEFAULT_MODEL, MODELS, VOICES
from ._faults import DelayFault, DropFault, FaultSet, MalformedFault, StatusFault
from ._forms import BodyError, parse_body
from ._state import SpeechState
from ._validation import validate_create
from ._wire import ApiError, FakeRequest, FakeResponse, RecordedRequest, json_response

__all__ = ["Handler"]

_MEDIA_RE = re.compile(r"/media/(\d+)\.mp3")
_DIGITS_RE = re.compile(r"\d+")
REDACTED = "[REDACTED]"


class Handler:
    """Routes requests to the API's endpoints, applies faults and keeps the statistics."""

    def __init__(
        self,
        *,
        state: SpeechState,
        faults: FaultSet,
        token: str | None,
        base_path: str,
        check_voices: bool,
    ) -> None:
        self.state = state
        self.faults = faults
        self._token = token
        self.base_path = base_path
        self.check_voices = check_voices
        self._stats_lock = threading.Lock()
        self._requests: list[RecordedRequest] = []
        self.in_flight = 0
        self.max_in_flight = 0

    # -- statistics ---------------------------------------------------------------------------

    @property
    def requests(self) -> list[RecordedRequest]:
        with self._stats_lock:
            return list(self._requests)

    def reset_stats(self) -> None:
        with self._stats_lock:
            self._requests.clear()
            self.max_in_flight = self.in_flight
        self.faults.reset_tally()

    def _record(self, request: FakeRequest, body: dict[str, Any] | None) -> RecordedRequest:
        headers: dict[str, str] = {}
        for name, value in request.headers:
            key = name.lower()
            value = REDACTED if key == "authorization" else value
            headers[key] = f"{headers[key]}, {value}" if key in headers else value
        return RecordedRequest(
            method=request.method.upper(),
            path=request.path,
            query=request.query,
            headers=headers,
            body=body,
            time=self.state.clock.now(),
        )

    # -- the one entry point ------------------------------------------------------------------

    async def handle(self, request: FakeRequest) -> FakeResponse:
        """Answer ``request``: a fault's answer, or the API's (held back or broken by a fault)."""
        body: dict[str, Any] | None = None
        body_error: str | None = None
        try:
            body = parse_body(request.header("content-type"), request.body)
        except BodyError as exc:
            body_error = str(exc)
        record = self._record(request, body)
        with self._stats_lock:
            self._requests.append(record)
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            fault = self.faults.pick(request)
            record.fault = fault.kind if fault is not None else None
            if isinstance(fault, (StatusFault, MalformedFault)):
                response = fault.response()
            else:
                try:
                    response = self._route(request, body, body_error)
                except ApiError as exc:
                    response = exc.response()
            if isinstance(fault, DropFault):
                return attrs.evolve(response, drop=True)
            record.status = response.status
            if isinstance(fault, DelayFault):
                await anyio.sleep(fault.seconds)
            return response
        finally:
            with self._stats_lock:
                self.in_flight -= 1

    # -- routing ------------------------------------------------------------------------------

    def _route(
        self, request: FakeRequest, body: dict[str, Any] | None, body_error: str | None
    ) -> FakeResponse:
        method = request.method.upper()
        raw_path = request.raw_path
        media = _MEDIA_RE.fullmatch(raw_path)
        if media is not None:
            _allow(method, "GET", "HEAD")
            return self._media(int(media.group(1)), head=method == "HEAD")
        if not (raw_path + "/").startswith(self.base_path):
            raise ApiError(404, f"Route {request.path} not found")
        self._authorize(request)
        rest = raw_path[len(self.base_path) :]
        if rest in ("speech", "speech/"):
            _allow(method, "GET")
            return self._list(request.query)
        segments = rest.split("/")
        if len(segments) != 2 or segments[0] != "speech":
            raise ApiError(404, f"Route {request.path} not found")
        name = unquote(segments[1])
        if name == "create":
            _allow(method, "POST")
            if body_error is not None:
                raise ApiError(400, body_error)
            return self._create(body or {})
        _allow(method, "GET")
        if name == "voices":
            return self._voices(request.query)
        if name == "models":
            return self._models()
        return self._retrieve(name)

    def _authorize(self, request: FakeRequest) -> None:
        if self._token is None:
            return
        scheme, _, credentials = (request.header("authorization") or "").partition(" ")
        if scheme.lower() != "bearer" or not hmac.compare_digest(
            credentials.strip().encode(), self._token.encode()
        ):
            raise ApiError(401, "Unauthorized")

    # -- endpoints ----------------------------------------------------------------------------

    def _list(self, query: dict[str, str]) -> FakeResponse:
        email = self.state.account_for_query(query.get("email"))
        limit = _non_negative(query, "limit", 50)
        offset = _non_negative(query, "offset", 0)
        if limit < 1:
            raise ApiError(400, "Parameter limit must be a positive integer")
        return json_response(200, self.state.list_page(email, limit, offset))

    def _retrieve(self, audio_id: str) -> FakeResponse:
        record = self.state.record(audio_id)
        if record is None:
            raise ApiError(404, f"Speech {audio_id} not found", with_code=False)
        return json_response(200, record)

    def _create(self, fields: dict[str, Any]) -> FakeResponse:
        params = validate_create(fields, check_voices=self.check_voices)
        return json_response(200, self.state.create(params))

    def _voices(self, query: dict[str, str]) -> FakeResponse:
        email = query.get("email")
        if email and email not in self.state.accounts:
            raise ApiError(400, f"Account {email} is not configured")
        model_name = query.get("model") or DEFAULT_MODEL
        model = MODELS.get(model_name)
        if model is None:
            raise ApiError(400, f"Unknown model {model_name}, supported: {', '.join(MODELS)}")
        language = query.get("language") or "auto"
        voices = [
            voice.to_json()
            for voice in VOICES.values()
            if voice.provider == model.provider and language in ("auto", voice.language)
        ]
        return json_response(200, {"voices": voices})

    def _models(self) -> FakeResponse:
        groups: dict[str, list[dict[str, Any]]] = {}
        for model in MODELS.values():
            groups.setdefault(model.provider, []).append(model.to_json())
        return json_response(
            200,
            {
                "default_model": DEFAULT_MODEL,
                "provider_groups": [
                    {"provider": provider, "models": models} for provider, models in groups.items()
                ],
            },
        )

    def _media(self, number: int, *, head: bool) -> FakeResponse:
        audio = self.state.media(number)
        if audio is None:
            raise ApiError(404, f"Media {number}.mp3 not found")
        return FakeResponse(
            status=200,
            headers=(("content-type", "audio/mpeg"), ("content-length", str(len(audio)))),
            body=b"" if head else audio,
        )


def _allow(method: str, *allowed: str) -> None:
    if method not in allowed:
        raise ApiError(
            405, f"Method {method} not allowed", headers=(("allow", ", ".join(allowed)),)
        )


def _non_negative(query: dict[str, str], name: str, default: int) -> int:
    value = query.get(name)
    if value is None or value == "":
        return default
    if not _DIGITS_RE.fullmatch(value):
        raise ApiError(400, f"Parameter {name} must be a non-negative integer, got {value!r}")
    return int(value)
