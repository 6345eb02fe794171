"""Sending one API request: authentication, retries, error mapping and JSON decoding.

This is the only place that talks to httpx for API calls.  It adds the token to each request
itself (never to the ``httpx.AsyncClient``'s default headers), so a shared client, a redirect to
another host or a download from the media host never carries it.
"""

from __future__ import annotations

import datetime
import json
import logging
import random
import time
from collections.abc import Mapping
from typing import Any

import anyio
import httpx

from . import _timing
from ._body import (
    DEFAULT_MAX_RESPONSE_BYTES,
    AttemptTimeout,
    read_capped,
    text_of,
)
from ._exceptions import (
    APIConnectionError,
    APIError,
    APITimeoutError,
    ResponseDecodeError,
    SpeechError,
    error_for_status,
)
from ._logs import log_retry
from ._loop import LoopBinding
from ._requests import Requests
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


def _may_have_taken_effect(exc: SpeechError) -> bool:
    """Whether a non-idempotent request that ended in ``exc`` may have been carried out.

    Only a connection that was never made, a 429 and the unambiguous 4xx answers prove that it was
    not; a 408, a 5xx, a dropped connection, a timeout after sending and a 2xx whose body could not
    be read all leave the job possibly created.
    """
    if isinstance(exc, APIConnectionError):
        return not isinstance(exc.__cause__, NEVER_SENT)
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


#: How much of a body that is not JSON is looked at for an excerpt of it, in bytes.
_TEXT_WINDOW = 8 * 1024


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
        attempt_timeout: float | None = None,
        max_response_bytes: int = DEFAULT_MAX_RESPONSE_BYTES,
        direct: bool = False,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        """``direct``: this library created ``client``, so requests may skip its ``send()``."""
        self.client = client
        #: Extra headers of every API request (``default_headers``); they win over the client's.
        self.headers = dict(headers or {})
        self.base_url = base_url
        self.token = token
        self.timeout = timeout
        #: The limit on one whole attempt (connect to last body byte), for a numeric timeout.
        self.attempt_timeout = attempt_timeout
        self.max_response_bytes = max_response_bytes
        self.retry = retry
        self.max_in_flight = max_in_flight
        self.rng = random.Random()
        self._limiter: anyio.CapacityLimiter | None = None
        # Its connections and its limiter belong to the first loop that uses it: on another one
        # they would fail obscurely ("Event loop is closed") and leak sockets.
        self.loop = LoopBinding()
        self.requests = Requests(
            client,
            base_url=base_url,
            token=token.get(),
            timeout=timeout,
            direct=direct,
            headers=self.headers,
        )
        #: The sender this one was derived from (``with_options``): its limiter is shared.
        self._root: Sender | None = None

    @property
    def limiter(self) -> anyio.CapacityLimiter:
        # Requests queue here, in our code, not in httpx's pool, whose waiting gets slower the
        # more requests wait on it.  Created on first use: a limiter belongs to an event loop.
        if self._root is not None:
            return self._root.limiter
        if self._limiter is None:
            self._limiter = anyio.CapacityLimiter(self.max_in_flight)
        return self._limiter

    def derive(
        self,
        *,
        timeout: httpx.Timeout,
        attempt_timeout: float | None,
        retry: RetryPolicy,
        headers: Mapping[str, str],
    ) -> Sender:
        """A sender with other request settings on the same client, token, limiter and loop."""
        view = Sender(
            self.client,
            base_url=self.base_url,
            token=self.token,
            timeout=timeout,
            retry=retry,
            max_in_flight=self.max_in_flight,
            attempt_timeout=attempt_timeout,
            max_response_bytes=self.max_response_bytes,
            direct=self.requests.direct,
            headers=headers,
        )
        view.loop = self.loop
        view._root = self._root or self
        return view

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
                log_retry(
                    f"{method} {httpx.URL(url).path}", exc, attempt, policy.max_retries, pause
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
        request = self.requests.build(
            method, url, params=params, data=data, json_body=json_body, files=files
        )
        self.loop.check()
        started = time.perf_counter()
        try:
            if limiter is not None:
                await _acquire(limiter)
            try:
                await _acquire(self.limiter)
                try:
                    response, content, complete = await self._exchange(request)
                finally:
                    self.limiter.release()
            finally:
                if limiter is not None:
                    limiter.release()
        except AttemptTimeout as exc:
            raise APITimeoutError(
                f"{method} {request.url.path} timed out: {exc}", audio_id=audio_id
            ) from exc
        except httpx.TimeoutException as exc:
            raise APITimeoutError(
                f"{method} {request.url.path} timed out ({type(exc).__name__})", audio_id=audio_id
            ) from exc
        except NETWORK_TROUBLE as exc:
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
        if not complete:
            cap = f"the body is larger than max_response_bytes ({self.max_response_bytes:,} bytes)"
            if response.is_success:
                raise ResponseDecodeError(
                    f"HTTP {response.status_code}: {cap}", response=response, audio_id=audio_id
                )
            # An error status keeps its error (and its retry rules); the body is not decoded.
            raise self._error(response, b"", audio_id, note=cap)
        if response.is_success:
            return self._decode(response, content, audio_id)
        raise self._error(response, content, audio_id)

    async def _exchange(self, request: httpx.Request) -> tuple[httpx.Response, bytes, bool]:
        """Send ``request`` and read its body within the caps: the response, body, completeness.

        A numeric timeout bounds the whole exchange (httpx's own applies to each read, so a
        server sending a byte at a time could hold it for ever); an ``httpx.Timeout`` keeps
        httpx's per-phase meaning only.
        """
        if self.attempt_timeout is None:
            return await self._send_and_read(request)
        with anyio.move_on_after(self.attempt_timeout) as scope:
            return await self._send_and_read(request)
        assert scope.cancelled_caught
        raise AttemptTimeout(
            f"the request and its answer took longer than timeout={self.attempt_timeout:g}s",
            request=request,
        )

    async def _send_and_read(self, request: httpx.Request) -> tuple[httpx.Response, bytes, bool]:
        # Streamed, so that the body is inflated and counted by _body, never whole by httpx.
        started = time.perf_counter()
        response = await self.requests.send(request)
        try:
            content, complete = await read_capped(response, self.max_response_bytes)
        finally:
            await response.aclose()
        if not hasattr(response, "_elapsed"):  # httpx's send() sets it; the direct path does not
            response.elapsed = datetime.timedelta(seconds=time.perf_counter() - started)
        if complete:
            # What response.content would have held, for those who look at error.response.
            response._content = content
        return response, content, complete

    def _shown(self, response: httpx.Response, content: bytes) -> str:
        """The start of a body that is not JSON, for a message: the token masked, then cut.

        Only a window is decoded and masked (splitting a 16 MiB body into words could take
        gigabytes); the window's last token-length of characters is dropped, since a token cut
        by the window's end would escape the mask.
        """
        window = content[:_TEXT_WINDOW]
        text = self.token.redact(text_of(response, window))
        if len(content) > len(window):
            text = text[: -len(self.token.get().encode())]
        return _excerpt(text)

    def _decode(self, response: httpx.Response, content: bytes, audio_id: str | None) -> Any:
        try:
            return json.loads(content)
        except (ValueError, UnicodeDecodeError, RecursionError):
            # RecursionError: JSON nested deeper than the interpreter's recursion limit.
            content_type = response.headers.get("content-type", "no content type")
            body = self._shown(response, content) or "an empty body"
            raise ResponseDecodeError(
                f"HTTP {response.status_code}: the body is not JSON ({content_type}): {body}",
                response=response,
                audio_id=audio_id,
            ) from None

    def _error(
        self, response: httpx.Response, content: bytes, audio_id: str | None, note: str = ""
    ) -> APIError:
        body: Any = None
        message = note
        code: int | None = None
        try:
            body = json.loads(content) if content else None
        except (ValueError, UnicodeDecodeError, RecursionError):
            # Mask the token before cutting: an excerpt could end inside it.
            message = self._shown(response, content)
        if body is not None:
            # The body is kept on the error (and pickled with it): mask an echoed token there too.
            try:
                dumped = json.dumps(body)
                if self.token.redact(dumped) != dumped:
                    body = json.loads(self.token.redact(dumped))
            except (ValueError, RecursionError):  # nested about as deep as Python can go
                body = None
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
