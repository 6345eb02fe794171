"""Sending one API request: authentication, retries, error mapping and JSON decoding.

This is the only place that talks to httpx for API calls.  It adds the token to each request
itself (never to the ``httpx.AsyncClient``'s default headers), so a shared client, a redirect to
another host or a download from the media host never carries it.
"""

from __future__ import annotations

import json
import logging
import random
import time
from collections.abc import Mapping
from typing import Any

import anyio
import httpx

from . import _timing
from ._exceptions import (
    APIConnectionError,
    APIError,
    APITimeoutError,
    ResponseDecodeError,
    SpeechError,
    error_for_status,
)
from ._retry import (
    NETWORK_TROUBLE,
    NEVER_SENT,
    RetryPolicy,
    RetryScope,
    is_retryable,
    parse_retry_after,
)

__all__ = ["Secret", "Sender"]

logger = logging.getLogger("pixverse_speech")

_NEVER_SENT = NEVER_SENT
_TRANSIENT = NETWORK_TROUBLE


def _may_have_taken_effect(exc: SpeechError) -> bool:
    """Whether a non-idempotent request that ended in ``exc`` may have been carried out.

    Only a connection that was never made, a 429 and the unambiguous 4xx answers prove that it was
    not; a 408, a 5xx, a dropped connection, a timeout after sending and a 2xx whose body could not
    be read all leave the job possibly created.
    """
    if isinstance(exc, APIConnectionError):
        return not isinstance(exc.__cause__, _NEVER_SENT)
    if isinstance(exc, APIError):
        return not (400 <= exc.status_code <= 499 and exc.status_code != 408)
    return True


class Secret:
    """A string that never shows itself in a repr, a log line or an exception."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def get(self) -> str:
        return self._value

    def redact(self, text: str) -> str:
        """``text`` with every occurrence of the secret masked.

        Secrets shorter than 8 characters (never a real token) are left alone: masking them
        would garble every message that happens to contain those letters.
        """
        if len(self._value) < 8 or self._value not in text:
            return text
        return text.replace(self._value, "[REDACTED]")

    def __repr__(self) -> str:
        return "Secret('[REDACTED]')"

    __str__ = __repr__


async def _acquire(limiter: anyio.CapacityLimiter) -> None:
    """Take a token of ``limiter``: at once when one is free, else in turn with the others.

    ``async with limiter`` yields to the event loop even when a token is free, a whole loop
    iteration per request; the send that follows checks for cancellation anyway.  Taking a free
    token without waiting never jumps the queue: it is refused while any task waits.
    """
    try:
        limiter.acquire_nowait()
    except anyio.WouldBlock:
        await limiter.acquire()


def _excerpt(text: str, limit: int = 200) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


class Sender:
    """Sends API requests through one ``httpx.AsyncClient`` with one retry policy."""

    def __init__(
        self,
        client: httpx.AsyncClient,
        *,
        base_url: str,
        token: Secret,
        timeout: httpx.Timeout,
        retry: RetryPolicy,
        max_in_flight: int,
    ) -> None:
        self.client = client
        self.base_url = base_url
        self.token = token
        self.timeout = timeout
        self.retry = retry
        self.max_in_flight = max_in_flight
        self.rng = random.Random()
        self._limiter: anyio.CapacityLimiter | None = None

    @property
    def limiter(self) -> anyio.CapacityLimiter:
        # Requests queue here, in our code, not in httpx's pool, whose waiting gets slower the
        # more requests wait on it.  Created on first use: a limiter belongs to an event loop.
        if self._limiter is None:
            self._limiter = anyio.CapacityLimiter(self.max_in_flight)
        return self._limiter

    async def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, str | int] | None = None,
        data: Mapping[str, str] | None = None,
        json_body: Mapping[str, Any] | None = None,
        files: Mapping[str, Any] | None = None,
        audio_id: str | None = None,
        retry_scope: RetryScope = "any",
        limiter: anyio.CapacityLimiter | None = None,
        deadline: float | None = None,
        retry: RetryPolicy | None = None,
    ) -> Any:
        """Send one request, retrying as the policy allows; return its decoded JSON body.

        ``deadline`` (on the active timing's clock) is the caller's: no retry starts after it,
        so the error is raised instead of a pause that would outlast it.  ``retry`` replaces
        the sender's policy for this call (list pages of a sweep are sent with no retries).
        ``retry_scope="unsent"`` marks a request that must not be repeated once the server may
        have seen it; the error it ends in says in ``job_may_exist`` whether it may have taken
        effect.
        """
        url = self.base_url + path
        policy = self.retry if retry is None else retry
        attempt = 0
        while True:
            try:
                return await self._attempt(
                    method, url, params, data, json_body, files, audio_id, limiter
                )
            except SpeechError as exc:
                pause = self._pause_after(exc, attempt, retry_scope, policy)
                if (
                    pause is not None
                    and deadline is not None
                    and _timing.current().now() + pause >= deadline
                ):
                    pause = None
                if pause is None:
                    if retry_scope == "unsent":
                        exc.job_may_exist = _may_have_taken_effect(exc)
                    raise
                attempt += 1
                logger.warning(
                    "%s %s failed (%s); retry %d of %d in %.2fs",
                    method,
                    path,
                    exc,
                    attempt,
                    policy.max_retries,
                    pause,
                )
                await _timing.current().sleep(pause)

    def _pause_after(
        self, exc: SpeechError, attempt: int, scope: RetryScope, policy: RetryPolicy
    ) -> float | None:
        if not is_retryable(exc, scope):
            return None
        retry_after = exc.retry_after if isinstance(exc, APIError) else None
        return policy.pause(attempt, retry_after, self.rng)

    async def _attempt(
        self,
        method: str,
        url: str,
        params: Mapping[str, str | int] | None,
        data: Mapping[str, str] | None,
        json_body: Mapping[str, Any] | None,
        files: Mapping[str, Any] | None,
        audio_id: str | None,
        limiter: anyio.CapacityLimiter | None,
    ) -> Any:
        request = self.client.build_request(
            method,
            url,
            params=params,
            data=data,
            json=json_body,
            files=files,
            headers={
                "Authorization": f"Bearer {self.token.get()}",
                "Accept": "application/json",
            },
            timeout=self.timeout,
        )
        started = time.perf_counter()
        try:
            if limiter is not None:
                await _acquire(limiter)
            try:
                await _acquire(self.limiter)
                try:
                    response = await self.client.send(request)
                finally:
                    self.limiter.release()
            finally:
                if limiter is not None:
                    limiter.release()
        except httpx.TimeoutException as exc:
            raise APITimeoutError(
                f"{method} {request.url.path} timed out ({type(exc).__name__})", audio_id=audio_id
            ) from exc
        except _TRANSIENT as exc:
            raise APIConnectionError(
                f"{method} {request.url.path} failed: {type(exc).__name__}: "
                f"{self.token.redact(str(exc)) or 'connection error'}",
                audio_id=audio_id,
            ) from exc
        except httpx.TransportError as exc:
            raise APIConnectionError(
                f"{method} {request.url.path} could not be sent: {type(exc).__name__}: "
                f"{self.token.redact(str(exc))}",
                audio_id=audio_id,
            ) from exc
        except httpx.DecodingError as exc:
            # The body arrived but its Content-Encoding could not be undone.
            raise ResponseDecodeError(
                f"{method} {request.url.path}: the body could not be decoded: "
                f"{self.token.redact(str(exc))}",
                audio_id=audio_id,
            ) from exc
        except httpx.RequestError as exc:  # e.g. TooManyRedirects from a user's http_client
            raise APIConnectionError(
                f"{method} {request.url.path} failed: {type(exc).__name__}: "
                f"{self.token.redact(str(exc))}",
                audio_id=audio_id,
            ) from exc
        logger.debug(
            "%s %s -> %d in %.1f ms",
            method,
            request.url.path,
            response.status_code,
            (time.perf_counter() - started) * 1000,
        )
        if response.is_success:
            return self._decode(response, audio_id)
        raise self._error(response, audio_id)

    def _decode(self, response: httpx.Response, audio_id: str | None) -> Any:
        try:
            return json.loads(response.content)
        except (ValueError, UnicodeDecodeError):
            content_type = response.headers.get("content-type", "no content type")
            body = _excerpt(self.token.redact(response.text)) or "an empty body"
            raise ResponseDecodeError(
                f"HTTP {response.status_code}: the body is not JSON ({content_type}): {body}",
                response=response,
                audio_id=audio_id,
            ) from None

    def _error(self, response: httpx.Response, audio_id: str | None) -> APIError:
        body: Any = None
        message = ""
        code: int | None = None
        try:
            body = json.loads(response.content)
        except (ValueError, UnicodeDecodeError):
            # Mask the token before cutting: an excerpt could end inside it.
            message = _excerpt(self.token.redact(response.text))
        if isinstance(body, dict):
            error = body.get("error")
            if isinstance(error, str) and error:
                message = error
            elif error is not None:
                message = self.token.redact(json.dumps(error))[:200]
            raw_code = body.get("code")
            if isinstance(raw_code, int) and not isinstance(raw_code, bool):
                code = raw_code
        message = self.token.redact(message) or response.reason_phrase or "no message"
        cls = error_for_status(response.status_code)
        return cls(
            message,
            status_code=response.status_code,
            response=response,
            body=body,
            code=code,
            audio_id=audio_id,
            # A 503 (or 408, 5xx) may say when to come back, as a 429 does.
            retry_after=parse_retry_after(response.headers),
        )
