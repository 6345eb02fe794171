"""``FakeSpeechAPI``: the stateful fake, and the two ways in to it."""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, Generic, Literal

import httpx

from .._models import AudioStatus
from ._asgi import FakeASGIApp
from ._callbacks import CallbackSender, SentCallback
from ._catalog import DEFAULT_MODEL, DEFAULT_VOICE_ID, MODELS
from ._clock import Clock, FakeClock, RealClock
from ._faults import Fault, FaultHandle, FaultSet
from ._handlers import Handler
from ._state import SpeechState
from ._transport import FakeTransport
from ._waits import virtual_time
from ._wire import RecordedRequest

if TYPE_CHECKING:
    from typing_extensions import TypeVar

    from .._client import AsyncSpeechAPI
    from .._sync import SpeechAPI

    # A default, so that a bare ``FakeSpeechAPI`` annotation means ``FakeSpeechAPI[Clock]``.
    ClockT = TypeVar("ClockT", bound=Clock, default=Clock, covariant=True)
else:
    from typing import TypeVar

    ClockT = TypeVar("ClockT", bound=Clock, covariant=True)

__all__ = ["DEFAULT_MEDIA_ORIGIN", "FakeSpeechAPI"]

#: Where completed jobs' ``url`` points while the fake is not being served.  ``.invalid`` never
#: resolves, so nothing can reach the internet by accident; the in-process transport answers it.
DEFAULT_MEDIA_ORIGIN = "https://media.example.invalid"

_USER_RE = re.compile(r"user:(\d+)-")


class FakeSpeechAPI(Generic[ClockT]):
    """A stateful, in-memory stand-in for the PixVerse speech API of useapi.net.

    Jobs made by POST ``speech/create`` or :meth:`add_job` go QUEUED -> GENERATING -> COMPLETED or
    FAILED as ``clock`` moves.  Reach it in-process with :meth:`transport`, as an ASGI app with
    :attr:`asgi_app`, or over a real socket with :meth:`serve`.

    ``token=None`` turns the bearer-token check off.  ``max_jobs`` is each account's concurrent
    job limit (POST ``speech/create`` answers 429 beyond it).  ``queued_for``/``generating_for``
    are how long new jobs stay QUEUED and GENERATING.  ``seed`` drives probability faults.
    ``check_voices=False`` accepts any ``voice_id``.  ``retry_after`` adds a ``Retry-After``
    header to the fake's own 429s.  ``media_url`` fixes the origin of completed jobs' ``url``.

    A job made with a ``replyUrl`` is POSTed (its record, as GET ``speech/{audio_id}`` returns it)
    to that URL when it ends, as the API does: see :meth:`configure_callbacks`.  Only loopback
    URLs are called, unless ``callback_transport`` (an ``httpx.AsyncBaseTransport``, such as
    ``httpx.ASGITransport(hub.app)``) carries the callbacks instead.
    """

    def __init__(
        self,
        *,
        token: str | None = "user:1-fake-token",
        accounts: Iterable[str] = ("fake@example.com",),
        clock: ClockT | None = None,
        max_jobs: int = 3,
        queued_for: float = 1.0,
        generating_for: float = 5.0,
        seed: int | None = 0,
        base_path: str = "/v2/pixverse/",
        check_voices: bool = True,
        retry_after: float | None = None,
        media_url: str | None = None,
        first_number: int = 11223344,
        callback_transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        if isinstance(accounts, str):
            accounts = (accounts,)
        accounts = tuple(accounts)
        if not accounts:
            raise ValueError("the fake needs at least one account")
        if not all(isinstance(a, str) and a for a in accounts):
            raise TypeError("accounts must be an iterable of non-empty email strings")
        if not max_jobs >= 1:
            raise ValueError(f"max_jobs must be >= 1, got {max_jobs!r}")
        if not (queued_for >= 0 and generating_for >= 0):
            raise ValueError("queued_for and generating_for must be >= 0")
        if not base_path.startswith("/"):
            base_path = "/" + base_path
        if not base_path.endswith("/"):
            base_path += "/"
        match = _USER_RE.match(token or "")
        self._clock: Clock = clock if clock is not None else RealClock()
        self.token = token
        self.base_path = base_path
        self._media_url = media_url.rstrip("/") if media_url else None
        self._state = SpeechState(
            clock=self._clock,
            accounts=accounts,
            user_id=match.group(1) if match else "1",
            max_jobs=max_jobs,
            queued_for=queued_for,
            generating_for=generating_for,
            first_number=first_number,
            media_origin=self._media_url or DEFAULT_MEDIA_ORIGIN,
            retry_after=retry_after,
        )
        self._faults = FaultSet(seed)
        if callback_transport is not None and not isinstance(
            callback_transport, httpx.AsyncBaseTransport
        ):
            raise TypeError(
                "callback_transport must be an httpx.AsyncBaseTransport, got "
                f"{type(callback_transport).__name__}"
            )
        self._callbacks = CallbackSender(
            state=self._state, clock=self.clock, transport=callback_transport, seed=seed
        )
        self._state.on_new_job = self._callbacks.schedule
        self._handler = Handler(
            state=self._state,
            faults=self._faults,
            token=token,
            base_path=base_path,
            check_voices=check_voices,
        )
        self._asgi_app = FakeASGIApp(self._handler)

    def __repr__(self) -> str:
        return (
            f"FakeSpeechAPI(accounts={self.accounts!r}, jobs={len(self.audio_ids)}, "
            f"clock={self.clock!r})"
        )

    # -- configuration ------------------------------------------------------------------------

    @property
    def clock(self) -> ClockT:
        """The clock jobs move on: the one passed in (typed as such), else a real one."""
        return self._clock  # type: ignore[return-value]  # RealClock only when none was passed

    @property
    def accounts(self) -> tuple[str, ...]:
        """The configured account emails."""
        return self._state.accounts

    @property
    def max_jobs(self) -> int:
        """Each account's concurrent (unfinished) job limit."""
        return self._state.max_jobs

    @max_jobs.setter
    def max_jobs(self, value: int) -> None:
        if not value >= 1:
            raise ValueError(f"max_jobs must be >= 1, got {value!r}")
        self._state.max_jobs = value

    @property
    def api_prefix(self) -> str:
        """The path a client's ``base_url`` should end in: ``base_path`` less ``pixverse/``."""
        prefix = self.base_path
        if prefix.endswith("/pixverse/"):
            prefix = prefix[: -len("pixverse/")]
        return prefix

    # -- jobs ---------------------------------------------------------------------------------

    def add_job(
        self,
        *,
        email: str | None = None,
        prompt: str = "Use API dot net.",
        model: str = DEFAULT_MODEL,
        voice_id: str = DEFAULT_VOICE_ID,
        language_code: str | None = None,
        queued_for: float | None = None,
        generating_for: float | None = None,
        outcome: Literal["completed", "failed"] = "completed",
        fail_code: str | None = None,
        fail_reason: str | None = None,
        reply_url: str | None = None,
    ) -> str:
        """Make a job directly (no validation, no job limit) created now; returns its audio_id.

        ``queued_for``/``generating_for`` default to the fake's; ``outcome`` is where it ends.
        ``reply_url``: where to POST the job's record when it ends.
        """
        if email is None:
            email = self.accounts[0]
        elif email not in self.accounts:
            raise ValueError(f"{email!r} is not one of the fake's accounts {self.accounts!r}")
        if model not in MODELS:
            raise ValueError(f"unknown model {model!r}; known: {', '.join(MODELS)}")
        if outcome not in ("completed", "failed"):
            raise ValueError(f"outcome must be 'completed' or 'failed', got {outcome!r}")
        for value in (queued_for, generating_for):
            if value is not None and not value >= 0:
                raise ValueError("queued_for and generating_for must be >= 0")
        if reply_url is not None and not (
            isinstance(reply_url, str) and reply_url.startswith(("http://", "https://"))
        ):
            raise ValueError(f"reply_url must be an absolute http(s) URL, got {reply_url!r}")
        job = self._state.new_job(
            email=email,
            prompt=prompt,
            model=model,
            voice_id=voice_id,
            language_code=language_code,
            queued_for=queued_for,
            generating_for=generating_for,
            outcome=AudioStatus.COMPLETED if outcome == "completed" else AudioStatus.FAILED,
            fail_code=fail_code,
            fail_reason=fail_reason,
            reply_url=reply_url,
        )
        return job.audio_id

    def fail_next(
        self, count: int = 1, *, fail_code: str | None = None, fail_reason: str | None = None
    ) -> None:
        """Make the next ``count`` jobs created through POST ``speech/create`` end FAILED."""
        if count < 0:
            raise ValueError(f"count must be >= 0, got {count!r}")
        self._state.fail_next(count, fail_code, fail_reason)

    def remove_job(self, audio_id: str) -> None:
        """Delete a job: GET ``speech/{audio_id}`` answers 404 from now on (``KeyError``: none)."""
        self._state.remove(audio_id)

    def job(self, audio_id: str) -> dict[str, Any]:
        """The job's record as GET ``speech/{audio_id}`` returns it now (``KeyError``: none)."""
        record = self._state.record(audio_id)
        if record is None:
            raise KeyError(audio_id)
        return record

    @property
    def audio_ids(self) -> list[str]:
        """Every job's audio_id, oldest first."""
        return self._state.audio_ids()

    def media_bytes(self, audio_id: str) -> bytes:
        """The bytes the fake serves at a COMPLETED job's ``url``.  ``KeyError`` otherwise."""
        audio = self._state.media_of(audio_id)
        if audio is None:
            raise KeyError(audio_id)
        return audio

    # -- faults -------------------------------------------------------------------------------

    def inject(
        self,
        fault: Fault,
        *,
        method: str | None = None,
        path: str | re.Pattern[str] | None = None,
        times: int | None = None,
        probability: float | None = None,
    ) -> FaultHandle:
        """Make matching requests fail with ``fault``; returns a handle to inspect or cancel it.

        A request matches when its method is ``method`` (any if ``None``) and its percent-decoded
        path contains ``path`` (a ``str``) or matches it (``re.search`` for a compiled pattern).
        ``times=N``: the fault fires at most N times (the first N matching requests, unless
        ``probability`` skips some).  ``probability``: the chance it fires on each matching
        request, drawn from ``random.Random(seed)``.  When several faults match, the one injected
        first that fires wins; a request gets at most one fault.
        """
        return self._faults.add(
            fault, method=method, path=path, times=times, probability=probability
        )

    def clear_faults(self) -> None:
        """Remove every injected fault."""
        self._faults.clear()

    @property
    def faults(self) -> list[FaultHandle]:
        """The faults in force, in the order injected."""
        return self._faults.handles

    @property
    def faults_injected(self) -> int:
        """How many requests a fault has hit since the last :meth:`reset_stats`."""
        return self._faults.injected

    # -- callbacks ----------------------------------------------------------------------------

    def configure_callbacks(
        self, *, drop: float = 0.0, delay: float = 0.0, duplicates: int = 0
    ) -> None:
        """How the fake calls back from now on (the defaults: each callback once, on time).

        ``drop``: the chance (0-1, drawn from ``random.Random(seed)``) that a job's callback is
        never sent, as when a receiver was down.  ``delay``: clock seconds between a job ending and
        its callback.  ``duplicates``: extra copies of each callback, as an API retrying would
        send.  Applies to callbacks not yet sent.
        """
        self._callbacks.configure(drop=drop, delay=delay, duplicates=duplicates)

    @property
    def callbacks(self) -> list[SentCallback]:
        """A snapshot of the callbacks made (and dropped or refused) so far, in order."""
        return self._callbacks.sent

    @property
    def pending_callbacks(self) -> int:
        """Callbacks planned or in flight, not yet made: ``0`` once every due one went out."""
        return self._callbacks.pending

    # -- observability ------------------------------------------------------------------------

    @property
    def requests(self) -> list[RecordedRequest]:
        """A snapshot of the requests received since the last :meth:`reset_stats`, in order."""
        return self._handler.requests

    @property
    def in_flight(self) -> int:
        """How many requests are being handled right now (a delay fault holds one)."""
        return self._handler.in_flight

    @property
    def max_in_flight(self) -> int:
        """The most requests handled at once since the last :meth:`reset_stats`."""
        return self._handler.max_in_flight

    def reset_stats(self) -> None:
        """Forget recorded requests, ``max_in_flight`` and ``faults_injected`` (not the jobs)."""
        self._handler.reset_stats()

    # -- ways in ------------------------------------------------------------------------------

    def transport(self) -> httpx.AsyncBaseTransport:
        """An httpx transport serving this fake in-process (any host; no sockets)."""
        return FakeTransport(self._handler)

    def http_client(self, **kwargs: Any) -> httpx.AsyncClient:
        """``httpx.AsyncClient(transport=self.transport(), base_url="http://fake/v2/", ...)``."""
        kwargs.setdefault("base_url", f"http://fake{self.api_prefix}")
        return httpx.AsyncClient(transport=self.transport(), **kwargs)

    def client(self, **options: Any) -> AsyncSpeechAPI:
        """An :class:`~pixverse_speech.AsyncSpeechAPI` bound to this fake, in-process.

        ``options`` are the client's own (``email=``, ``max_retries=``, ...); the token, base URL
        and transport are set to reach this fake.  Close it when done (``async with``).
        """
        from .._client import AsyncSpeechAPI

        return AsyncSpeechAPI(**self._client_options(options))

    def sync_client(self, **options: Any) -> SpeechAPI:
        """A blocking :class:`~pixverse_speech.SpeechAPI` bound to this fake, in-process."""
        from .._sync import SpeechAPI

        return SpeechAPI(**self._client_options(options))

    def _client_options(self, options: dict[str, Any]) -> dict[str, Any]:
        for name in ("base_url", "transport", "http_client"):
            if name in options:
                raise TypeError(f"{name} is set by the fake; build AsyncSpeechAPI yourself")
        # A fake without a token check still needs the client to send one.
        options.setdefault("token", self.token or "user:1-any-token")
        options["base_url"] = "http://fake.invalid" + self.api_prefix
        options["transport"] = self.transport()
        return options

    @property
    def asgi_app(self) -> FakeASGIApp:
        """This fake as an ASGI 3 application."""
        return self._asgi_app

    @contextmanager
    def serve(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        startup_timeout: float = 10.0,
        shutdown_timeout: float = 5.0,
    ) -> Iterator[str]:
        """Serve the fake with uvicorn on a background thread while in the ``with`` block.

        Yields the base URL for a client, e.g. ``http://127.0.0.1:54321/v2/``.  ``port=0`` picks
        a free port.  While served, completed jobs' ``url`` points at this server (unless
        ``media_url`` was given).  Needs uvicorn (the ``server`` extra).
        """
        from ._server import serve_app

        def on_origin(origin: str | None) -> None:
            if self._media_url is None:
                self._state.media_origin = origin or DEFAULT_MEDIA_ORIGIN

        with serve_app(
            self._asgi_app,
            host=host,
            port=port,
            startup_timeout=startup_timeout,
            shutdown_timeout=shutdown_timeout,
            on_origin=on_origin,
        ) as origin:
            yield origin + self.api_prefix

    @contextmanager
    def virtual_time(self) -> Iterator[FakeClock]:
        """Run the client's waits on this fake's :class:`FakeClock`, instantly, in the block."""
        if not isinstance(self.clock, FakeClock):
            raise TypeError("virtual_time() needs a fake made with clock=FakeClock()")
        with virtual_time(self.clock) as clock:
            yield clock
