"""Building and sending API requests, cheaply when this library owns its ``httpx.AsyncClient``.

``AsyncClient.build_request`` + ``send`` cost ~30-60 µs of CPU per request over the transport's
own work: URL parsing, header merging, cookie jars, auth and redirect flows, event hooks.  A client
the library created has none of those (no cookies, auth, hooks, and redirects are not followed), so
``Requests`` prepares each bodiless request from parts made once: the base URL parsed once (a
request's URL is the parsed base with its path and query replaced), the headers merged once (the
client's defaults, ``Host``, ``Accept`` and the token), the timeout extension built once.  It then
hands the request to the transport httpx itself would pick for the URL (``_transport_for_url``, so
proxies from the environment, ``mounts`` and respx's httpx-level mock all still apply), and reads
the body as ``send()`` would.  httpx's transport layer is untouched: httpcore, the aiohttp
transport, ``MockTransport``, the fake's ``transport()`` and respx see an ordinary request.

A client passed as ``http_client=`` is the user's: every request goes through its ``send()``, so
its hooks, auth, cookies and redirect settings apply.  Requests with a body (a create's form) are
built by ``build_request`` in both cases; they are rare.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlencode

import httpx

from ._body import ACCEPT_ENCODING

__all__ = ["READ_EAGERLY", "Requests"]

#: A request extension: the body of the answer is small and may be read along with the headers
#: (the aiohttp transport does).  API requests carry it; downloads, whose stall limit is per
#: chunk, do not.
READ_EAGERLY = "pixverse_speech.read_eagerly"

# What may appear in a path this library builds (constants and ``quote_segment`` output), as
# httpx would leave it: RFC 3986 pchar and "/", and well-formed "%XX" escapes.
_CLEAN_PATH = re.compile(r"(?:[A-Za-z0-9\-._~!$&'()*+,;=:@/]|%[0-9A-Fa-f]{2})*\Z")
_EMPTY = httpx.ByteStream(b"")


def _query_value(value: str | int) -> str:
    # As httpx.QueryParams spells primitive values.
    if value is True:
        return "true"
    if value is False:
        return "false"
    return str(value)


def _encode_query(params: Mapping[str, str | int]) -> str:
    """``params`` as httpx encodes them (``str(httpx.QueryParams(params))``)."""
    return urlencode([(key, _query_value(value)) for key, value in params.items()])


class _URLMaker:
    """Makes the ``httpx.URL`` of ``base_url + path [? query]`` without parsing it again.

    httpx keeps a parsed URL as a named tuple of its components; a request URL under the base is
    that tuple with another path and query.  Only paths that httpx would keep byte for byte (no
    character to escape, no dot segment) take this way, and only when a self-check at
    construction shows this httpx version's URL to be built as expected; anything else is parsed
    by ``httpx.URL`` as usual.
    """

    def __init__(self, base_url: str) -> None:
        self._base_text = base_url
        base = httpx.URL(base_url)
        reference = getattr(base, "_uri_reference", None)
        self._base: Any = reference if hasattr(reference, "_replace") else None
        if self._base is not None and not self._self_check():
            self._base = None

    def _self_check(self) -> bool:
        try:
            sample = "pixverse/speech/a:b@c-%2E"
            made = self._fast(sample, "email=a%40b.c&limit=5")
            parsed = httpx.URL(self._base_text + sample + "?email=a%40b.c&limit=5")
        except Exception:  # an httpx whose internals differ: parse every URL instead
            return False
        return made == parsed and made.raw_path == parsed.raw_path and str(made) == str(parsed)

    def _fast(self, path: str, query: str | None) -> httpx.URL:
        url = httpx.URL.__new__(httpx.URL)
        url._uri_reference = self._base._replace(path=self._base.path + path, query=query)
        return url

    def __call__(self, path: str, query: str | None) -> httpx.URL:
        if (
            self._base is not None
            and _CLEAN_PATH.match(path)
            and not any(part in (".", "..") for part in path.split("/"))
        ):
            return self._fast(path, query)
        text = self._base_text + path
        return httpx.URL(text if query is None else f"{text}?{query}")


class Requests:
    """Builds and sends the API requests of one ``Sender``."""

    def __init__(
        self,
        client: httpx.AsyncClient,
        *,
        base_url: str,
        token: str,
        timeout: httpx.Timeout,
        direct: bool,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        """``direct``: the library created ``client`` (no hooks, auth or cookies to honour).

        ``headers`` (``default_headers``, a view's ``headers``) win over the client's own and
        over ``Accept``; the token is always ours.
        """
        self.client = client
        self.base_url = base_url
        self.direct = direct
        self._own_headers = {
            "Accept": "application/json",
            # Only what _body can inflate in bounded steps (no header option may change it).
            "Accept-Encoding": ACCEPT_ENCODING,
            **(headers or {}),
            "Authorization": f"Bearer {token}",
        }
        self._timeout = timeout
        self._extensions = {"timeout": timeout.as_dict(), READ_EAGERLY: True}
        self._url = _URLMaker(base_url)
        # As build_request would merge them: the client's defaults, then ours; "Host" first.
        merged = httpx.Headers(client.headers)
        merged.update(self._own_headers)
        self._headers = httpx.Headers([(b"Host", httpx.URL(base_url).netloc), *merged.raw])

    def build(
        self,
        method: str,
        url: str,
        *,
        params: Mapping[str, str | int] | None = None,
        data: Mapping[str, str] | None = None,
        json_body: Mapping[str, Any] | None = None,
        files: Mapping[str, Any] | None = None,
    ) -> httpx.Request:
        """The request for ``method url``, carrying the token and the timeout."""
        if (
            self.direct
            and data is None
            and json_body is None
            and files is None
            and url.startswith(self.base_url)
        ):
            query = _encode_query(params) if params else None
            request = httpx.Request(
                method,
                self._url(url[len(self.base_url) :], query),
                headers=self._headers,
                stream=_EMPTY,
                extensions=self._extensions,
            )
            request.read()  # as a built request is: its (empty) content known
            return request
        return self.client.build_request(
            method,
            url,
            params=params,
            data=data,
            json=json_body,
            files=files,
            headers=self._own_headers,
            timeout=self._timeout,
            extensions={READ_EAGERLY: True},
        )

    async def send(self, request: httpx.Request) -> httpx.Response:
        """``client.send(request, stream=True)``; on a client of our own, straight to its transport.

        The body is left unread: the caller reads it within its caps (``_body``).
        """
        if not self.direct:
            return await self.client.send(request, stream=True)
        if self.client.is_closed:
            raise RuntimeError("Cannot send a request, as the client has been closed.")
        # The transport httpx would choose for this URL: a proxy's, a mount's, or the client's.
        transport = self.client._transport_for_url(request.url)
        try:
            response = await transport.handle_async_request(request)
        except httpx.RequestError as exc:
            exc.request = request
            raise
        response.request = request
        return response
