"""``AsyncSpeechAPI``: the client."""

from __future__ import annotations

import builtins
import logging
import os
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Mapping
from types import TracebackType
from typing import Any, Literal, TypeVar

import anyio
import attrs
import httpx

from . import _timing
from ._body import DEFAULT_MAX_RESPONSE_BYTES
from ._checks import check_int, check_text
from ._config import (
    attempt_limit,
    check_headers,
    check_request_timeout,
    client_view,
    resolve_base_url,
)
from ._converter import DriftLog, structure
from ._create import CREATE_PATH, CreateRequest, build_create_request, decode_created
from ._download import (
    DEFAULT_CHUNK_SIZE,
    DEFAULT_DOWNLOAD_TIMEOUT,
    DEFAULT_MAX_BYTES,
    Writable,
)
from ._download import download as _download_audio
from ._engine import WaitEngine
from ._exceptions import GenerationFailedError, SpeechError
from ._generation import GenerationCompletions, generate_many, prepare
from ._http import Secret, Sender
from ._models import Speech, SpeechModels, SpeechPage, Voice, VoiceList
from ._paging import SpeechIterator
from ._paths import audio_id_of, check_audio_ids, speech_path
from ._polling import DEFAULT_MAX_POLL_INTERVAL, DEFAULT_POLL_INTERVAL
from ._retry import RetryPolicy
from ._sweeps import LIST_PATH, PAGE_SIZE
from ._version import __version__
from ._waiting import CLOSED_MESSAGE, OnUpdate, WaitOptions, check_timeout
from ._webhook_waits import HubListener, check_hub, fallback_schedule, reply_url_for
from .webhooks import WebhookHub

__all__ = ["DEFAULT_BASE_URL", "AsyncSpeechAPI", "OnUpdate"]

logger = logging.getLogger("pixverse_speech")

DEFAULT_BASE_URL = "https://api.useapi.net/v2/"
TOKEN_ENV_VAR = "USEAPI_TOKEN"
#: Requests in flight at once by default, measured in ``benchmarks/in_flight.py``: httpcore's CPU
#: per request grows with the requests inside its pool; the aiohttp transport's does not, and it
#: keeps more calls per second with more in flight.
DEFAULT_MAX_CONNECTIONS = 8
DEFAULT_MAX_CONNECTIONS_AIOHTTP = 20

_Self = TypeVar("_Self", bound="AsyncSpeechAPI")
_T = TypeVar("_T")


def _check_email(value: object) -> str | None:
    return None if value is None else check_text("email", value)


def _check_base_url(value: object) -> str:
    if not isinstance(value, (str, httpx.URL)):
        raise TypeError(f"base_url must be a string, got {type(value).__name__}")
    try:
        url = httpx.URL(str(value))
        port = url.port
    except httpx.InvalidURL as exc:
        raise ValueError(f"base_url is not a valid URL ({exc}): {str(value)!r}") from None
    if url.scheme not in ("http", "https") or not url.host:
        raise ValueError(f"base_url must be an absolute http(s) URL, got {str(value)!r}")
    if port is not None and not 0 < port < 65536:
        raise ValueError(f"base_url has a port outside 1-65535: {str(value)!r}")
    if url.query or url.fragment:
        raise ValueError(f"base_url must not have a query or fragment, got {str(value)!r}")
    text = str(url)
    return text if text.endswith("/") else text + "/"


def _read_token(token: object) -> Secret:
    if token is None:
        token = os.environ.get(TOKEN_ENV_VAR)
        if token is None or not token.strip():
            raise ValueError(
                f"no API token: pass token=... or set the {TOKEN_ENV_VAR} environment variable"
            )
    if not isinstance(token, str):
        raise TypeError(f"token must be a string, got {type(token).__name__}")
    token = token.strip()
    if not token:
        raise ValueError("token must not be empty")
    if any(ch in token for ch in "\r\n\0") or not token.isprintable():
        # Never echo the token itself: the message must be safe to log.
        raise ValueError("token contains control characters")
    return Secret(token)


def _make_transport(transport: object, limits: httpx.Limits) -> httpx.AsyncBaseTransport | None:
    if transport is None or isinstance(transport, httpx.AsyncBaseTransport):
        return transport
    if transport != "aiohttp":
        raise ValueError(
            f"transport must be None, 'aiohttp' or an httpx.AsyncBaseTransport, got {transport!r}"
        )
    try:
        from ._aiohttp import AiohttpTransport
    except ImportError:
        raise ImportError(
            "transport='aiohttp' needs the aiohttp extra: pip install 'pixverse-speech[aiohttp]'"
        ) from None
    return AiohttpTransport(limits=limits)


class _ClientBackend:
    """What the wait engine may do with the client: fetch a record, read a page, decode."""

    __slots__ = ("_api", "_no_retries")

    def __init__(self, api: AsyncSpeechAPI) -> None:
        self._api = api
        # A failed page is not worth a retry's pause: the sweep's GETs stand in for it at once,
        # and a 429 is waited out by the account's next sweep.
        self._no_retries = attrs.evolve(api._sender.retry, max_retries=0)

    @property
    def is_closed(self) -> bool:
        return self._api.is_closed

    async def fetch(
        self,
        audio_id: str,
        *,
        limiter: anyio.CapacityLimiter | None = None,
        deadline: float | None = None,
    ) -> Speech:
        return await self._api._get(audio_id, limiter, deadline)

    async def read_page(
        self, email: str, offset: int, *, limiter: anyio.CapacityLimiter | None = None
    ) -> object:
        params: dict[str, str | int] = {"email": email, "limit": PAGE_SIZE, "offset": offset}
        return await self._api._sender.request(
            "GET", LIST_PATH, params=params, limiter=limiter, retry=self._no_retries
        )

    def decode(self, record: object, audio_id: str) -> Speech:
        return self._api._decode(record, Speech, audio_id)


class AsyncSpeechAPI:
    """An async client for the PixVerse speech endpoints of useapi.net.

    Use one instance per application (it holds a connection pool) and close it when done, either
    with ``async with AsyncSpeechAPI() as api:`` or ``await api.aclose()``.

    :param token: the useapi.net API token; ``None`` reads ``USEAPI_TOKEN``.
    :param email: the account email used by list calls that do not name one.
    :param base_url: the API root; ``None`` reads ``USEAPI_BASE_URL``, else
        ``https://api.useapi.net/v2/``.
    :param timeout: per HTTP request, in seconds or as an ``httpx.Timeout``.  A number bounds
        each attempt as a whole (connecting, sending, and receiving the headers and the whole
        body): an attempt that takes longer raises :class:`APITimeoutError`.  An
        ``httpx.Timeout`` keeps httpx's meaning: a limit per phase and per network read.
    :param max_retries: retries of one request on a transient failure; ``0`` disables them.
    :param max_connections: the most requests this client has in flight at once; more wait
        their turn in the client.  Also the pool size of the ``httpx.AsyncClient`` it creates.
        ``None``: 8, or 20 with ``transport="aiohttp"``.  httpx's own pool spends more CPU per
        request the more requests are inside it, so a small number keeps each call cheap
        (``docs/performance.md``); the aiohttp transport's cost does not grow with it.  Raise it
        when requests spend long on the network and you need more calls per second than it
        allows: about ``max_connections`` / round-trip time (8 at 200 ms: 40 calls/s).
    :param transport: ``"aiohttp"`` for the faster aiohttp-backed transport (asyncio only, needs
        the ``aiohttp`` extra), or an ``httpx.AsyncBaseTransport`` such as the fake API's
        ``fake.transport()``; ``None`` is httpx's own.  Not with ``http_client``.
    :param max_response_bytes: the cap on an API response body, counted after decompression
        (default 16 MiB); a larger 2xx body raises :class:`ResponseDecodeError`.
    :param http_client: an ``httpx.AsyncClient`` to send through.  The client uses it as it is and
        never closes it.  Its base URL does not apply to API calls; its default headers do, but
        for ``Authorization``, which this client sets on each API request itself.
    :param default_headers: headers sent with every API request (never to the media host of a
        download); they override the library's ``User-Agent`` when they name it.
    :param webhooks: a :class:`~pixverse_speech.webhooks.WebhookHub`: jobs this client creates
        get the hub's reply URL, a callback makes a wait on its job confirm it at once with one
        GET, and waits poll only as a safety net (first at once, then every
        ``fallback_poll_interval`` unless given ``poll_interval``/``max_poll_interval``).
    """

    def __init__(
        self,
        token: str | None = None,
        *,
        email: str | None = None,
        base_url: str | None = None,
        timeout: float | httpx.Timeout = 30.0,
        max_retries: int = 3,
        max_connections: int | None = None,
        transport: Literal["aiohttp"] | httpx.AsyncBaseTransport | None = None,
        http_client: httpx.AsyncClient | None = None,
        max_response_bytes: int = DEFAULT_MAX_RESPONSE_BYTES,
        default_headers: Mapping[str, str] | None = None,
        webhooks: WebhookHub | None = None,
    ) -> None:
        hub = check_hub(webhooks)
        self._token = _read_token(token)
        self._email = _check_email(email)
        self._base_url = resolve_base_url(base_url, DEFAULT_BASE_URL, _check_base_url)
        headers = check_headers("default_headers", default_headers)
        request_timeout = check_request_timeout(timeout)
        retries = check_int("max_retries", max_retries, minimum=0)
        if max_connections is None:
            aiohttp = isinstance(transport, str) and transport == "aiohttp"
            pool = DEFAULT_MAX_CONNECTIONS_AIOHTTP if aiohttp else DEFAULT_MAX_CONNECTIONS
        else:
            pool = check_int("max_connections", max_connections, minimum=1)
        response_cap = check_int("max_response_bytes", max_response_bytes, minimum=1)
        if http_client is not None and not isinstance(http_client, httpx.AsyncClient):
            raise TypeError(
                f"http_client must be an httpx.AsyncClient, got {type(http_client).__name__}"
            )
        if http_client is not None and transport is not None:
            raise ValueError("pass transport or http_client, not both")
        self._owns_client = http_client is None
        if http_client is None:
            # Keep-alive limit = pool size: a smaller one makes httpcore reconnect needlessly.
            limits = httpx.Limits(max_connections=pool, max_keepalive_connections=pool)
            http_client = httpx.AsyncClient(
                timeout=request_timeout,
                limits=limits,
                transport=_make_transport(transport, limits),
                headers={"User-Agent": f"pixverse-speech/{__version__}"},
            )
        self._sender = Sender(
            http_client,
            base_url=self._base_url,
            token=self._token,
            timeout=request_timeout,
            retry=RetryPolicy(max_retries=retries),
            max_in_flight=pool,
            attempt_timeout=attempt_limit(request_timeout, timeout),
            max_response_bytes=response_cap,
            direct=self._owns_client,
            headers=headers,
        )
        self._closed = False
        self._drift = DriftLog(self._token.redact)  # field drift is logged once per client
        #: The client this one is a view of (``with_options``); closing it closes this one too.
        self._root: AsyncSpeechAPI | None = None
        # Shared by the views of with_options: one coalescing domain per connection pool.
        self._engine = WaitEngine(_ClientBackend(self), retry=self._sender.retry)
        self._webhooks = hub
        self._listener: HubListener | None = None
        if hub is not None:
            self._engine.default_schedule = fallback_schedule(hub)
            self._listener = HubListener(hub, self._engine.nudge)

    # -- lifecycle ---------------------------------------------------------------------------

    async def __aenter__(self: _Self) -> _Self:
        self._check_open()
        self._listen()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close the connection pool, if this client created it.  Safe to call twice."""
        if self._closed:
            return
        self._closed = True
        if self._root is None:
            # The engine and the hub's listener are shared with the with_options views: only
            # their owner stops them.
            if self._listener is not None:
                self._listener.stop()
            self._engine.close()  # every wait in progress ends with the same RuntimeError
        if self._owns_client:
            await self._sender.client.aclose()

    @property
    def is_closed(self) -> bool:
        """Whether :meth:`aclose` has been called (on this client or the one it is a view of)."""
        return self._closed or (self._root is not None and self._root._closed)

    def with_options(
        self,
        *,
        timeout: float | httpx.Timeout | None = None,
        max_retries: int | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> AsyncSpeechAPI:
        """A view of this client with other request settings, sharing its connection pool.

        ``api.with_options(timeout=5, max_retries=0).get(audio_id)``: ``timeout`` (per HTTP
        request), ``max_retries`` and ``headers`` (added to ``default_headers``; a name given
        again replaces it) apply to the view's requests; what is not given is this client's.  The
        view shares the pool, the limit of requests in flight and the token, so making one costs
        nothing.  Closing this client closes its views; closing a view leaves this client open.

        A view's waits join this client's wait engine, so they are coalesced with every other
        wait of the pool; their polls are sent with this client's settings.
        """
        return client_view(self, timeout=timeout, max_retries=max_retries, headers=headers)

    def _listen(self) -> None:
        """With ``webhooks=``, hear the hub's callbacks from now on (on this event loop)."""
        if self._listener is not None:
            self._listener.start()

    @property
    def wait_engine(self) -> WaitEngine:
        """The engine every wait of this client goes through.

        Internal: for the library's own modules (the webhooks hub nudges it and sets its
        ``default_schedule``); not part of the user-facing API.  See ``_engine``'s docstring.
        """
        return self._engine

    @property
    def base_url(self) -> str:
        """The API root requests go to."""
        return self._base_url

    @property
    def email(self) -> str | None:
        """The default account email of list calls."""
        return self._email

    def __repr__(self) -> str:
        state = " closed" if self._closed else ""
        return f"<AsyncSpeechAPI base_url={self._base_url!r} email={self._email!r}{state}>"

    def _decode(self, body: object, cls: type[_T], audio_id: str | None = None) -> _T:
        # Error messages quote the offending value: mask the token in case the API echoed it.
        return structure(body, cls, audio_id=audio_id, redact=self._token.redact, log=self._drift)

    def _check_open(self) -> None:
        if self.is_closed:
            raise RuntimeError(CLOSED_MESSAGE)

    # -- single requests ---------------------------------------------------------------------

    async def get(self, audio_id: str | Speech) -> Speech:
        """Fetch one job by its ``audio_id``, or a fresh copy of a :class:`Speech` (GET
        ``speech/{audio_id}``).

        A field of an unexpected type is ``None`` in the result, its value kept in
        ``invalid_fields``; only a wrong ``audio_id``, ``audio_status`` or ``audio_status_final``
        is a :class:`ResponseDecodeError`.  A record without an ``audio_id`` gets the one asked for.
        """
        audio_id = audio_id_of(audio_id)
        self._check_open()
        return await self._get(audio_id)

    async def _get(
        self,
        audio_id: str,
        limiter: anyio.CapacityLimiter | None = None,
        deadline: float | None = None,
    ) -> Speech:
        body = await self._sender.request(
            "GET", speech_path(audio_id), audio_id=audio_id, limiter=limiter, deadline=deadline
        )
        return self._decode(body, Speech, audio_id)

    async def list(
        self,
        *,
        email: str | None = None,
        limit: int | None = None,
        offset: int | None = None,
    ) -> SpeechPage:
        """Fetch one page of jobs, newest first (GET ``speech/``).

        :param email: the account; defaults to the client's ``email``.  The API requires it when
            several accounts are configured.
        :param limit: how many jobs (the API's default is 50).
        :param offset: where to start.
        """
        params = self._list_params(email, limit, offset)
        self._check_open()
        return await self._list(params)

    def _list_params(self, email: object, limit: object, offset: object) -> dict[str, str | int]:
        params: dict[str, str | int] = {}
        account = _check_email(email) or self._email
        if account is not None:
            params["email"] = account
        if limit is not None:
            params["limit"] = check_int("limit", limit, minimum=1)
        if offset is not None:
            params["offset"] = check_int("offset", offset, minimum=0)
        return params

    async def _list(self, params: dict[str, str | int]) -> SpeechPage:
        body = await self._sender.request("GET", "pixverse/speech/", params=params)
        return self._decode(body, SpeechPage)

    # -- paging ------------------------------------------------------------------------------

    def iter_speech(
        self,
        *,
        email: str | None = None,
        page_size: int = 50,
        offset: int = 0,
    ) -> AsyncIterator[Speech]:
        """Every job of the account, newest first, fetching pages as needed.

        New jobs arriving while paging shift older ones to later offsets; a job already yielded is
        not yielded again.  Paging stops at ``has_more == false``, at an empty page or, when the
        API does not say ``has_more``, at a short page.  Arguments are checked at the call;
        ``aclose()`` stops it.
        """
        # Checked here under their own names (and ``None`` refused: paging needs a page size).
        check_int("page_size", page_size, minimum=1)
        check_int("offset", offset, minimum=0)
        params = self._list_params(email, page_size, offset)
        self._check_open()
        return SpeechIterator(
            lambda at: self._list({**params, "offset": at}), page_size=page_size, offset=offset
        )

    # -- waiting -----------------------------------------------------------------------------

    async def wait_until_final(
        self,
        audio_id: str | Speech,
        *,
        timeout: float | None = 600.0,
        poll_interval: float = DEFAULT_POLL_INTERVAL,
        max_poll_interval: float = DEFAULT_MAX_POLL_INTERVAL,
        on_update: OnUpdate | None = None,
        raise_on_failure: bool = True,
    ) -> Speech:
        """Poll one job until it is final and return its final record.

        The first poll is immediate; the pause then grows by half each time from
        ``poll_interval`` to ``max_poll_interval``, so with the defaults a job costs at most one
        request a second at first and one every 3.6-4 s from about 8 s on (measured in
        ``docs/performance.md``).  ``timeout`` is one deadline for the whole wait (``None``: none);
        reaching it raises :class:`WaitTimeoutError`.  Transient failures (connection errors,
        timeouts, 408, 429, 5xx but 596, malformed bodies) never end a wait early; any other
        API error, 401 and 404 among them, ends it at once.  ``on_update`` (sync or async) sees the
        first record and every status change.  A FAILED job raises :class:`SpeechFailedError`
        unless ``raise_on_failure`` is false.  ``audio_id`` may be a :class:`Speech`.
        """
        audio_id = audio_id_of(audio_id)
        options = self._engine.options(
            timeout, poll_interval, max_poll_interval, on_update, raise_on_failure
        )
        self._check_open()
        self._listen()
        return await self._engine.wait(audio_id, options, options.deadline())

    async def wait_many(
        self,
        audio_ids: Iterable[str],
        *,
        concurrency: int = 8,
        timeout: float | None = 600.0,
        poll_interval: float = DEFAULT_POLL_INTERVAL,
        max_poll_interval: float = DEFAULT_MAX_POLL_INTERVAL,
        on_update: OnUpdate | None = None,
        raise_on_failure: bool = False,
    ) -> builtins.list[Speech | SpeechError]:
        """Wait for many jobs at once; one result per id, in the order given.

        A job that ends FAILED is returned as its :class:`Speech` (unless ``raise_on_failure``),
        and an id whose wait ended in an error gets that :class:`SpeechError` in its slot: one bad
        id never cancels the others.  At most ``concurrency`` requests are in flight at once, and
        ``timeout`` is one deadline for the whole batch.  An id given twice is polled once.

        Pending jobs are looked at through their account's list pages (50 jobs a request; the
        email is taken from each id) on the same poll schedule as :meth:`wait_until_final`; a job
        the pages do not show, and every id without the ``user:<n>-pixverse:<email>-speech:<n>``
        format, is polled with :meth:`get`.  A 429 on the list slows that account down and fails
        no wait.  A COMPLETED job seen in a page is returned as the list shows it: without
        ``path``, ``file_size``, ``format``, ``sample_rate``, ``bitrate`` and ``channel`` (only
        :meth:`get` returns those).  A FAILED job is always fetched with :meth:`get`, so it has
        ``fail_code`` and ``fail_reason``.  See also :meth:`as_completed`.
        """
        ids = check_audio_ids(audio_ids)
        limit = check_int("concurrency", concurrency, minimum=1)
        options = self._engine.options(
            timeout, poll_interval, max_poll_interval, on_update, raise_on_failure
        )
        self._check_open()
        self._listen()
        return await self._engine.wait_many(ids, limit, options)

    def as_completed(
        self,
        audio_ids: Iterable[str],
        *,
        concurrency: int = 8,
        timeout: float | None = 600.0,
        poll_interval: float = DEFAULT_POLL_INTERVAL,
        max_poll_interval: float = DEFAULT_MAX_POLL_INTERVAL,
        on_update: OnUpdate | None = None,
        raise_on_failure: bool = False,
    ) -> AsyncIterator[tuple[str, Speech | SpeechError]]:
        """Yield ``(audio_id, result)`` for each job as it becomes final, soonest first.

        ``async for audio_id, result in api.as_completed(ids): ...``.  The result is what
        :meth:`wait_many` would put in that id's slot (a :class:`Speech`, or the
        :class:`SpeechError` that ended its wait), with the same options; an id given twice is
        yielded once.  Polling happens only while the loop waits for its next item: no task runs
        between items, so leaving the loop early (``break``) or cancelling it stops all work at
        once.  ``timeout`` is one deadline for the whole iteration, counted from the first item
        asked for.  Arguments are checked at the call.
        """
        ids = check_audio_ids(audio_ids)
        limit = check_int("concurrency", concurrency, minimum=1)
        options = self._engine.options(
            timeout, poll_interval, max_poll_interval, on_update, raise_on_failure
        )
        self._check_open()
        self._listen()
        return self._engine.as_completed(ids, limit, options)

    # -- creating jobs -----------------------------------------------------------------------

    async def create(
        self,
        text: str,
        voice_id: str,
        *,
        model: str | None = None,
        email: str | None = None,
        language_code: str | None = None,
        speed: float | None = None,
        volume: float | None = None,
        pitch: int | None = None,
        emotion: str | None = None,
        stability: float | None = None,
        similarity_boost: float | None = None,
        style: float | None = None,
        use_speaker_boost: bool | None = None,
        reply_url: str | None = None,
        reply_ref: str | None = None,
        max_jobs: int | None = None,
    ) -> Speech:
        """Start a text-to-speech job (POST ``speech/create``) and return it as the API answered.

        The answer carries at least the job's ``audio_id`` (else :class:`ResponseDecodeError`);
        poll it with :meth:`wait_until_final`, or use :meth:`generate` to do both.

        Every argument is checked before any request (``TypeError``/``ValueError`` naming it):
        ``text`` and ``voice_id`` must be non-blank; ``text`` at most the model's characters
        (5,000 for ``eleven-v3``, 40,000 for ``eleven-turbo-v2.5``, else 10,000).  MiniMax models
        (``speech-2.8-hd``, the default, and ``speech-2.8-turbo``) take ``speed`` 0.5-2,
        ``volume`` 0-10, integer ``pitch`` -12..12 and ``emotion``; ElevenLabs models take
        ``speed`` 0.7-1.2, ``stability`` and ``similarity_boost`` 0-1, and
        ``eleven-multilingual-v2`` also ``style`` 0-1 and ``use_speaker_boost``.  A setting of
        the other family, or ``language_code`` with ``eleven-v3``, is refused.  ``reply_url`` and
        ``reply_ref`` (at most 1,024 characters) make the API call ``reply_url`` when the job
        ends; ``max_jobs`` (1-8) caps the account's concurrent jobs.  A model this library does
        not know is passed through with type checks only.  Without ``email`` the API picks an
        account with free capacity (the client's ``email`` is not applied here).

        A create is not idempotent: it is retried only when the API surely did not receive it
        (the connection was never made, or a 429, after its ``Retry-After``), never after a
        timeout once sent, a dropped connection or a 5xx.  The error then says in
        ``job_may_exist`` (and its message) whether the job may exist: when ``True``, look for
        it with :meth:`list` before submitting again.  A create cancelled from outside may have
        created its job too.
        """
        request = build_create_request(
            text,
            voice_id,
            model=model,
            email=email,
            language_code=language_code,
            speed=speed,
            volume=volume,
            pitch=pitch,
            emotion=emotion,
            stability=stability,
            similarity_boost=similarity_boost,
            style=style,
            use_speaker_boost=use_speaker_boost,
            reply_url=reply_url_for(self._webhooks, reply_url, reply_ref),
            reply_ref=reply_ref,
            max_jobs=max_jobs,
        )
        self._check_open()
        return await self._create(request)

    async def _create(self, request: CreateRequest) -> Speech:
        body = await self._sender.request(
            "POST", CREATE_PATH, files=request.form(), retry_scope="unsent"
        )
        return decode_created(body, redact=self._token.redact, log=self._drift)

    async def generate(
        self,
        text: str,
        voice_id: str,
        *,
        model: str | None = None,
        email: str | None = None,
        language_code: str | None = None,
        speed: float | None = None,
        volume: float | None = None,
        pitch: int | None = None,
        emotion: str | None = None,
        stability: float | None = None,
        similarity_boost: float | None = None,
        style: float | None = None,
        use_speaker_boost: bool | None = None,
        reply_url: str | None = None,
        reply_ref: str | None = None,
        max_jobs: int | None = None,
        resubmit: int = 2,
        timeout: float | None = 600.0,
        poll_interval: float = DEFAULT_POLL_INTERVAL,
        max_poll_interval: float = DEFAULT_MAX_POLL_INTERVAL,
        on_update: OnUpdate | None = None,
    ) -> Speech:
        """Create a job, wait until it is final and return it; submit it again when it FAILED.

        The create options are those of :meth:`create`, checked once before any request; the
        wait options those of :meth:`wait_until_final`.  A job that ends FAILED is submitted
        again, up to ``resubmit`` times (default 2: at most three jobs; ``0`` never resubmits),
        since the API says such failures are usually transient.  Each try is a new, billed job.

        ``timeout`` is one deadline for the whole call, every try included.  It cuts waits short
        but never a create in flight (that would lose the id of a job that may exist); no new
        try starts once it has passed.

        When every try failed, :class:`GenerationFailedError` carries each job's final record
        (``attempts``) and id (``audio_ids``).  Any other error, :class:`WaitTimeoutError`
        among them, gets every job created so far in ``audio_ids`` (for a
        :class:`SpeechError`) and in a note on the exception, so no job is lost.
        """
        request = build_create_request(
            text,
            voice_id,
            model=model,
            email=email,
            language_code=language_code,
            speed=speed,
            volume=volume,
            pitch=pitch,
            emotion=emotion,
            stability=stability,
            similarity_boost=similarity_boost,
            style=style,
            use_speaker_boost=use_speaker_boost,
            reply_url=reply_url_for(self._webhooks, reply_url, reply_ref),
            reply_ref=reply_ref,
            max_jobs=max_jobs,
        )
        tries = 1 + check_int("resubmit", resubmit, minimum=0)
        options = self._engine.options(timeout, poll_interval, max_poll_interval, on_update, False)
        self._check_open()
        self._listen()
        created: builtins.list[str] = []
        try:
            return await self._generate(request, tries, options, created)
        except GenerationFailedError:
            raise
        except Exception as exc:
            if created:
                if isinstance(exc, SpeechError):
                    exc.audio_ids = tuple(created)
                exc.add_note(f"generate() created these jobs: {', '.join(created)}")
            raise
        except BaseException:
            if created:
                logger.warning("generate() ended early; it created: %s", ", ".join(created))
            raise

    async def _generate(
        self,
        request: CreateRequest,
        tries: int,
        options: WaitOptions,
        created: builtins.list[str],
    ) -> Speech:
        """The tries of :meth:`generate`; ``created`` receives each job's id as it is created."""
        deadline = options.deadline()
        failed: builtins.list[Speech] = []
        while True:
            audio_id = (await self._create(request)).audio_id
            created.append(audio_id)
            final = await self._engine.wait(audio_id, options, deadline)
            if not final.is_failed:
                return final
            failed.append(final)
            out_of_time = deadline is not None and _timing.current().now() >= deadline
            if len(failed) >= tries or out_of_time:
                raise GenerationFailedError(
                    tuple(failed), audio_ids=tuple(created), out_of_time=len(failed) < tries
                )
            logger.warning(
                "speech %s failed (%s); submitting it again, try %d of %d",
                audio_id,
                final.fail_reason or final.fail_code or "no reason given",
                len(failed) + 1,
                tries,
            )

    # -- batch generation --------------------------------------------------------------------

    async def generate_many(
        self,
        items: Iterable[str | Mapping[str, Any]],
        *,
        voice_id: str | None = None,
        max_jobs: int = 4,
        resubmit: int = 1,
        timeout: float | None = 3600.0,
        on_update: OnUpdate | None = None,
        on_created: Callable[[int, str], Awaitable[object] | object] | None = None,
        **settings: Any,
    ) -> builtins.list[Speech | SpeechError]:
        """Turn many texts into final jobs, at most ``max_jobs`` (1-8) unfinished at once.

        ``items`` are texts (spoken with ``voice_id``) or mappings of :meth:`create` arguments;
        a mapping's keys override the keyword settings (``model``, ``speed``... as in
        :meth:`create`), which apply where the mapping does not name them.  Every item is checked
        before any request: a bad one is a ``ValueError`` naming its index and field.

        Returns one result per item, in input order: its final :class:`Speech`, or the
        :class:`SpeechError` that ended it (:class:`GenerationFailedError` when every try,
        ``1 + resubmit``, ended FAILED).  No create is attempted while ``max_jobs`` jobs of the
        batch are unfinished; a 429 on create waits and tries again.  A create that may have
        landed is looked for in the account's list and adopted before anything is resubmitted.
        ``on_created(index, audio_id)`` (sync or async) sees each job as soon as it exists;
        ``on_update`` is as in :meth:`wait_many`.  ``timeout`` is one deadline for the batch;
        reaching it, or an error that is not one item's (401, 402, 412, 596, a callback that
        raised), raises :class:`BatchGenerationError` with the results so far and every job
        created.  See ``docs/batch-generation.md``.
        """
        generation = prepare(
            self,
            items,
            voice_id=voice_id,
            settings=settings,
            max_jobs=max_jobs,
            resubmit=resubmit,
            timeout=timeout,
            on_update=on_update,
            on_created=on_created,
        )
        self._check_open()
        return await generate_many(generation)

    def generate_as_completed(
        self,
        items: Iterable[str | Mapping[str, Any]],
        *,
        voice_id: str | None = None,
        max_jobs: int = 4,
        resubmit: int = 1,
        timeout: float | None = 3600.0,
        on_update: OnUpdate | None = None,
        on_created: Callable[[int, str], Awaitable[object] | object] | None = None,
        **settings: Any,
    ) -> AsyncIterator[tuple[int, Speech | SpeechError]]:
        """Like :meth:`generate_many`, yielding ``(index, result)`` as each item ends.

        ``async for index, result in api.generate_as_completed(texts, voice_id=v): ...``.
        Work happens only while the loop waits for its next item, as with :meth:`as_completed`:
        leaving the loop creates nothing more (a create in flight is finished first).  A batch
        that fails as a whole raises :class:`BatchGenerationError` from the loop.  Arguments are
        checked at the call.
        """
        generation = prepare(
            self,
            items,
            voice_id=voice_id,
            settings=settings,
            max_jobs=max_jobs,
            resubmit=resubmit,
            timeout=timeout,
            on_update=on_update,
            on_created=on_created,
        )
        self._check_open()
        return GenerationCompletions(self, generation)

    # -- voices and models -------------------------------------------------------------------

    async def voices(
        self,
        *,
        model: str | None = None,
        language: str | None = None,
        email: str | None = None,
    ) -> builtins.list[Voice]:
        """The voices a model offers (GET ``speech/voices``); pass a ``voice_id`` to create.

        :param model: the model (the API's default is ``speech-2.8-hd``; an unknown one is a
            :class:`BadRequestError`).
        :param language: a language filter (the API's default is ``auto``).
        :param email: the account; defaults to the client's ``email``.
        """
        params: dict[str, str | int] = {}
        account = _check_email(email) or self._email
        if account is not None:
            params["email"] = account
        if model is not None:
            params["model"] = check_text("model", model)
        if language is not None:
            params["language"] = check_text("language", language)
        self._check_open()
        body = await self._sender.request("GET", "pixverse/speech/voices", params=params)
        return builtins.list(self._decode(body, VoiceList).voices)

    async def models(self) -> SpeechModels:
        """Every model by provider, with limits, languages and credits (GET ``speech/models``)."""
        self._check_open()
        body = await self._sender.request("GET", "pixverse/speech/models")
        return self._decode(body, SpeechModels)

    # -- downloading -------------------------------------------------------------------------

    async def download(
        self,
        speech_or_url: Speech | str,
        destination: str | os.PathLike[str] | Writable,
        *,
        chunk_size: int = DEFAULT_CHUNK_SIZE,
        timeout: float | None = DEFAULT_DOWNLOAD_TIMEOUT,
        max_bytes: int = DEFAULT_MAX_BYTES,
    ) -> int:
        """Stream a COMPLETED job's audio (or any audio URL) to a file; return the bytes written.

        ``destination`` is a path, written atomically (a temporary file beside it, renamed over
        it when complete and removed on any failure or cancellation), or a binary file object,
        written chunk by chunk through its ``write`` and left open.  The API token is never sent
        to the media host.  A job's ``file_size``, when known, must match the bytes received
        (else :class:`DownloadSizeError`).  Connection errors, timeouts, 408, 429 and 5xx are
        retried with the client's retry policy, restarting the stream.  A job that is not
        COMPLETED or has no ``url`` raises :class:`AudioNotAvailableError` before any request;
        other failures raise :class:`DownloadError`, a file that cannot be written
        :class:`DownloadFileError` (chained to the ``OSError``).

        Bounds: reading stops with :class:`DownloadSizeError` at the first byte past the job's
        ``file_size``, else past the ``Content-Length``, else past ``max_bytes`` (1 GiB), counted
        after decompression.  The client's numeric ``timeout`` is a stall limit: on the headers
        and on each chunk of the body.  ``timeout`` here (600 s; ``None``: none) bounds the whole
        download, retries included.  Redirects are followed to http and https only, at most 5.
        """
        seconds = check_timeout(timeout)
        self._check_open()
        return await _download_audio(
            self._sender,
            speech_or_url,
            destination,
            chunk_size=chunk_size,
            timeout=seconds,
            max_bytes=max_bytes,
        )
