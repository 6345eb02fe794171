"""Client configuration read from the environment, and the checks of the headers option."""

from __future__ import annotations

import copy
import math
import os
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, TypeVar

import attrs
import httpx

from ._checks import as_float, check_int, shown

if TYPE_CHECKING:
    from ._client import AsyncSpeechAPI

__all__ = ["BASE_URL_ENV_VAR", "check_headers", "client_view", "resolve_base_url"]

_Client = TypeVar("_Client", bound="AsyncSpeechAPI")

#: Where ``base_url=None`` (the default) reads the API root from, for the client and the CLI.
BASE_URL_ENV_VAR = "USEAPI_BASE_URL"

# Set per request by the client itself: a header option must not replace them.
_RESERVED = frozenset(
    {"authorization", "host", "content-length", "transfer-encoding", "accept-encoding"}
)


def resolve_base_url(value: object, default: str, check: Callable[[object], str]) -> str:
    """``value`` checked, or else ``USEAPI_BASE_URL`` checked, or else ``default``.

    An explicit argument wins.  A bad value from the environment is a ``ValueError`` that names
    the variable, so that it is not mistaken for a bad argument.
    """
    if value is not None:
        return check(value)
    from_env = os.environ.get(BASE_URL_ENV_VAR)
    if from_env is None or not from_env.strip():
        return check(default)
    try:
        return check(from_env.strip())
    except (TypeError, ValueError) as exc:
        raise ValueError(
            f"the {BASE_URL_ENV_VAR} environment variable is not usable: {exc}"
        ) from None


def check_request_timeout(value: object) -> httpx.Timeout:
    """The ``timeout`` option: a positive number of seconds, or an ``httpx.Timeout``."""
    if isinstance(value, httpx.Timeout):
        return value
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"timeout must be a number of seconds or an httpx.Timeout, got {value!r}")
    seconds = as_float("timeout", value)
    if not (seconds > 0 and math.isfinite(seconds)):
        raise ValueError(f"timeout must be a positive number of seconds, got {shown(value)}")
    return httpx.Timeout(seconds)


def attempt_limit(checked: httpx.Timeout, given: object) -> float | None:
    """The bound on one whole attempt: the seconds of a numeric ``timeout``; none for an
    ``httpx.Timeout``, which keeps httpx's per-phase, per-read meaning."""
    return None if isinstance(given, httpx.Timeout) else checked.read


def check_headers(name: str, value: object) -> dict[str, str]:
    """Extra request headers: a mapping of printable ``str`` names and values."""
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise TypeError(
            f"{name} must be a mapping of header names to values, got {type(value).__name__}"
        )
    headers: dict[str, str] = {}
    for key, item in value.items():
        if not isinstance(key, str) or not isinstance(item, str):
            raise TypeError(f"{name} must map str to str, got {key!r}: {type(item).__name__}")
        if not key.strip() or any(ch in key for ch in ":\r\n\0 ") or not key.isprintable():
            raise ValueError(f"{name} has an invalid header name: {key!r}")
        if any(ch in item for ch in "\r\n\0"):
            raise ValueError(f"{name}[{key!r}] contains a line break or NUL")
        if key.lower() in _RESERVED:
            raise ValueError(f"{name} must not set {key}: the client sets it on each request")
        headers[key] = item
    return headers


def client_view(
    api: _Client,
    *,
    timeout: object,
    max_retries: object,
    headers: object,
) -> _Client:
    """What ``AsyncSpeechAPI.with_options`` returns: ``api`` with other request settings.

    The view is a shallow copy whose sender is derived from ``api``'s: the same httpx client (so
    the same pool), token and limiter of requests in flight.  It never closes the pool.
    """
    sender = api._sender
    request_timeout = sender.timeout if timeout is None else check_request_timeout(timeout)
    retry = sender.retry
    if max_retries is not None:
        retry = attrs.evolve(retry, max_retries=check_int("max_retries", max_retries, minimum=0))
    merged = {**sender.headers, **check_headers("headers", headers)}
    api._check_open()
    view = copy.copy(api)
    view._sender = sender.derive(
        timeout=request_timeout,
        attempt_timeout=sender.attempt_timeout
        if timeout is None
        else attempt_limit(request_timeout, timeout),
        retry=retry,
        headers=merged,
    )
    view._owns_client = False
    view._closed = False
    view._root = api._root or api
    # The wait engine is the parent's (the copy shares it): a view's waits coalesce with the
    # parent's and run on the parent's request settings.
    return view
