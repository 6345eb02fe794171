"""The bad-input table: every public parameter with wrong types and out-of-range values.

Each row calls one public entry point of ``AsyncSpeechAPI`` with one bad argument (the others
valid).  ``test_bad_input.py`` requires a ``TypeError`` or ``ValueError`` whose message names the
parameter, raised before any request; ``make_bad_input_doc.py`` renders what each row actually
raises into ``docs/bad-input.md``.  Not a test module: both import it.
"""

from __future__ import annotations

import inspect
import io
import math
import os
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import contextmanager
from typing import Any

import attrs
import httpx
import respx

from pixverse_speech import AsyncSpeechAPI

TOKEN = "user:1-bad-input-token"
BASE_URL = "https://api.bad-input.invalid/v2/"
AUDIO_ID = "user:1-pixverse:me@example.com-speech:42"
AUDIO_URL = "https://media.bad-input.invalid/media/42.mp3"

#: Loading the CA bundle costs ~30 ms: every client made here shares one context.
SSL_CONTEXT = httpx.create_ssl_context()

Invoke = Callable[[AsyncSpeechAPI], object]


@attrs.frozen
class Case:
    """One row: ``call`` (an entry point) given ``value`` (written ``shown``) for ``parameter``."""

    call: str
    parameter: str
    shown: str
    invoke: Invoke = attrs.field(eq=False, repr=False)
    note: str = ""  # what the other arguments are, when the value is bad only with them

    @property
    def id(self) -> str:
        shown = self.shown if len(self.shown) <= 40 else self.shown[:37] + "..."
        note = f" ({self.note})" if self.note else ""
        return f"{self.call}:{self.parameter}={shown}{note}"


@attrs.frozen
class Outcome:
    """What a row did: the exception type and message (``None``: accepted) and requests sent."""

    error: str | None
    message: str
    requests: int


def shown(value: object) -> str:
    """``value`` as the docs write it: short, and the same on every run."""
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) > 10**18:
        return f"10**{round(math.log10(abs(value)))}"
    if isinstance(value, float) and math.isnan(value):
        return "nan"
    if isinstance(value, float) and math.isinf(value):
        return "inf" if value > 0 else "-inf"
    if isinstance(value, str) and len(value) > 40:
        last = value[-1]
        count = len(value) - len(value.rstrip(last))
        head = value[:-count]
        return f"{head!r} + {last!r} * {count}" if head else f"{last!r} * {count}"
    if type(value) is object:
        return "object()"
    return repr(value)


HUGE_INT = 10**400  # a float() of it overflows
ENORMOUS_INT = 10**5000  # beyond the 4300 digits Python will turn into text

#: Bad values shared by several parameters of the same kind.
SECONDS = [None, "30", True, 0, -1.0, math.nan, math.inf, HUGE_INT]
WAIT_TIMEOUTS = ["600", True, 0, -1.0, math.nan, HUGE_INT]
POLL_SECONDS = [None, "1", True, 0, -0.5, math.nan, math.inf, HUGE_INT]
COUNTS_FROM_ONE = [None, "8", True, 1.5, 0, -1]
OFFSETS = [None, "0", False, 0.5, -1]
TEXTS = [None, 1, b"text", "", "   "]
#: Ids that cannot go into a URL: longer than MAX_AUDIO_ID_LENGTH, or holding a lone surrogate.
BAD_IDS = ["a" * 1_025, "user:1-speech:\ud800"]
OPTIONAL_TEXTS = [1, b"text", "", "   "]
EMAILS = [1, ["me@example.com"], "", "   "]


def rows(
    call: str, parameter: str, values: list[Any], make: Callable[[Any], Invoke], note: str = ""
) -> Iterator[Case]:
    for value in values:
        yield Case(call, parameter, shown(value), make(value), note)


def _ctor(**kwargs: Any) -> Invoke:
    def invoke(_: AsyncSpeechAPI) -> object:
        kwargs.setdefault("token", TOKEN)
        return AsyncSpeechAPI(**kwargs)

    return invoke


async def _both_transport_and_client(_: AsyncSpeechAPI) -> object:
    async with httpx.AsyncClient(verify=SSL_CONTEXT) as http:
        transport = httpx.MockTransport(lambda request: httpx.Response(599))
        return AsyncSpeechAPI(TOKEN, transport=transport, http_client=http)


def _sync_http_client(_: AsyncSpeechAPI) -> object:
    with httpx.Client(verify=SSL_CONTEXT) as http:
        return AsyncSpeechAPI(TOKEN, http_client=http)  # type: ignore[arg-type]


def constructor_cases() -> Iterator[Case]:
    call = "AsyncSpeechAPI()"
    yield from rows(
        call, "token", [123, b"user:1-token", "", "   ", "user:1-tok\nen"], lambda v: _ctor(token=v)
    )
    yield Case(call, "token", "None", _ctor(token=None), "USEAPI_TOKEN unset")
    yield from rows(call, "email", EMAILS, lambda v: _ctor(email=v))
    yield from rows(
        call,
        "base_url",
        [
            1,
            "",
            "api.useapi.net/v2/",
            "ftp://api.useapi.net/v2/",
            "https://api.useapi.net/v2/?debug=1",
            "https://api.useapi.net/v2/#top",
            "http://[::1",
            "http://127.0.0.1:99999/v2/",
        ],
        lambda v: _ctor(base_url=v),
    )
    yield from rows(
        call,
        "default_headers",
        [["X-A"], {"X-A": 1}, {"X-A": "a\nb"}, {"Authorization": "Bearer x"}, {"Bad Name": "x"}],
        lambda v: _ctor(default_headers=v),
    )
    yield from rows(call, "timeout", SECONDS, lambda v: _ctor(timeout=v))
    yield from rows(call, "max_retries", [None, "3", True, 1.5, -1], lambda v: _ctor(max_retries=v))
    # None picks the transport's default.
    yield from rows(
        call, "max_connections", COUNTS_FROM_ONE[1:], lambda v: _ctor(max_connections=v)
    )
    yield from rows(
        call, "max_response_bytes", COUNTS_FROM_ONE, lambda v: _ctor(max_response_bytes=v)
    )
    yield from rows(call, "transport", [1, "requests", "AIOHTTP"], lambda v: _ctor(transport=v))
    yield Case(
        call,
        "transport",
        "httpx.MockTransport(...)",
        _both_transport_and_client,
        "with http_client",
    )
    yield from rows(call, "http_client", [object(), "client"], lambda v: _ctor(http_client=v))
    yield Case(call, "http_client", "httpx.Client()", _sync_http_client)
    yield from rows(
        call,
        "webhooks",
        ["https://app.example.com/hooks", object(), True],
        lambda v: _ctor(webhooks=v),
    )


def method_cases() -> Iterator[Case]:
    yield from rows("get", "audio_id", TEXTS + BAD_IDS, lambda v: lambda api: api.get(v))

    yield from rows("list", "email", EMAILS, lambda v: lambda api: api.list(email=v))
    yield from rows(
        "list", "limit", ["10", True, 1.5, 0, -1], lambda v: lambda api: api.list(limit=v)
    )
    yield from rows(
        "list", "offset", ["0", False, 0.5, -1], lambda v: lambda api: api.list(offset=v)
    )

    yield from rows("iter_speech", "email", EMAILS, lambda v: lambda api: api.iter_speech(email=v))
    yield from rows(
        "iter_speech",
        "page_size",
        COUNTS_FROM_ONE,
        lambda v: lambda api: api.iter_speech(page_size=v),
    )
    yield from rows(
        "iter_speech", "offset", OFFSETS, lambda v: lambda api: api.iter_speech(offset=v)
    )

    for call in ("wait_until_final", "wait_many", "as_completed"):
        yield from wait_cases(call)

    for call in ("create", "generate"):
        yield from create_cases(call)
    yield from rows(
        "generate",
        "resubmit",
        [None, "2", True, 1.5, -1],
        lambda v: lambda api: api.generate("Hello.", "voice", resubmit=v),
    )
    yield from wait_cases("generate")

    yield from rows("voices", "model", OPTIONAL_TEXTS, lambda v: lambda api: api.voices(model=v))
    yield from rows(
        "voices", "language", OPTIONAL_TEXTS, lambda v: lambda api: api.voices(language=v)
    )
    yield from rows("voices", "email", EMAILS, lambda v: lambda api: api.voices(email=v))

    yield from rows(
        "download",
        "speech_or_url",
        [
            None,
            42,
            b"https://media.example/a.mp3",
            "",
            "not a url",
            "ftp://media.example/a.mp3",
            "http://[::1",
            "https://media.example/" + "a" * 8_171,
            "https://media.example/\ud800.mp3",
        ],
        lambda v: lambda api: api.download(v, io.BytesIO()),
    )
    yield from rows(
        "download",
        "destination",
        [None, 42, b"/tmp/a.mp3", object(), ["a.mp3"]],
        lambda v: lambda api: api.download(AUDIO_URL, v),
    )
    yield from rows(
        "download",
        "chunk_size",
        [None, "65536", True, 1.5, 0, -1],
        lambda v: lambda api: api.download(AUDIO_URL, io.BytesIO(), chunk_size=v),
    )
    yield from rows(
        "download",
        "timeout",
        WAIT_TIMEOUTS,
        lambda v: lambda api: api.download(AUDIO_URL, io.BytesIO(), timeout=v),
    )
    yield from rows(
        "download",
        "max_bytes",
        COUNTS_FROM_ONE,
        lambda v: lambda api: api.download(AUDIO_URL, io.BytesIO(), max_bytes=v),
    )


def wait_cases(call: str) -> Iterator[Case]:
    """The wait options of wait_until_final, wait_many, as_completed and generate."""
    many = call in ("wait_many", "as_completed")
    first: tuple[object, ...] = {
        "wait_until_final": (AUDIO_ID,),
        "wait_many": ([AUDIO_ID],),
        "as_completed": ([AUDIO_ID],),
        "generate": ("Hello.", "voice"),
    }[call]

    def waiting(**kwargs: Any) -> Invoke:
        return lambda api: getattr(api, call)(*first, **kwargs)

    if many:
        yield from rows(
            call,
            "audio_ids",
            [
                AUDIO_ID,
                None,
                42,
                [None],
                [AUDIO_ID, ""],
                [b"user:1-speech:1"],
            ],
            lambda v: lambda api: getattr(api, call)(v),
        )
        for bad in BAD_IDS:
            yield Case(
                call,
                "audio_ids",
                f"[AUDIO_ID, {shown(bad)}]",
                lambda api, bad=bad: getattr(api, call)([AUDIO_ID, bad]),
            )
        yield from rows(call, "concurrency", COUNTS_FROM_ONE, lambda v: waiting(concurrency=v))
    elif call == "wait_until_final":
        yield from rows(
            call, "audio_id", TEXTS + BAD_IDS, lambda v: lambda api: api.wait_until_final(v)
        )
    yield from rows(call, "timeout", WAIT_TIMEOUTS, lambda v: waiting(timeout=v))
    yield from rows(call, "poll_interval", POLL_SECONDS, lambda v: waiting(poll_interval=v))
    yield from rows(
        call, "max_poll_interval", POLL_SECONDS[:4], lambda v: waiting(max_poll_interval=v)
    )
    yield from rows(
        call,
        "max_poll_interval",
        [0.5],
        lambda v: waiting(poll_interval=1.0, max_poll_interval=v),
        "poll_interval=1.0",
    )
    yield from rows(call, "on_update", [42, "print"], lambda v: waiting(on_update=v))
    if call != "generate":
        yield from rows(
            call, "raise_on_failure", [None, 1, "yes"], lambda v: waiting(raise_on_failure=v)
        )


def create_cases(call: str) -> Iterator[Case]:
    """The create parameters, checked alike by ``create`` and ``generate``."""

    def creating(text: object = "Hello.", voice_id: object = "voice", **kwargs: Any) -> Invoke:
        return lambda api: getattr(api, call)(text, voice_id, **kwargs)

    eleven_v3 = "model='eleven-v3'"
    multilingual = "model='eleven-multilingual-v2'"
    yield from rows(call, "text", [*TEXTS, "a" * 10_001], lambda v: creating(text=v))
    yield from rows(
        call, "text", ["a" * 5_001], lambda v: creating(text=v, model="eleven-v3"), eleven_v3
    )
    yield from rows(call, "voice_id", TEXTS, lambda v: creating(voice_id=v))
    yield from rows(call, "model", OPTIONAL_TEXTS, lambda v: creating(model=v))
    yield from rows(call, "email", EMAILS, lambda v: creating(email=v))
    yield from rows(call, "language_code", OPTIONAL_TEXTS, lambda v: creating(language_code=v))
    yield from rows(
        call,
        "language_code",
        ["en"],
        lambda v: creating(language_code=v, model="eleven-v3"),
        eleven_v3,
    )
    yield from rows(
        call,
        "speed",
        ["1.0", True, math.nan, math.inf, 0.1, 3.0, HUGE_INT],
        lambda v: creating(speed=v),
    )
    yield from rows(call, "speed", [1.5], lambda v: creating(speed=v, model="eleven-v3"), eleven_v3)
    yield from rows(call, "volume", ["5", -1, 11], lambda v: creating(volume=v))
    yield from rows(
        call, "pitch", ["0", True, 1.5, -13, 13, ENORMOUS_INT], lambda v: creating(pitch=v)
    )
    yield from rows(call, "emotion", [1, "", "furious"], lambda v: creating(emotion=v))
    yield from rows(
        call, "emotion", ["happy"], lambda v: creating(emotion=v, model="eleven-v3"), eleven_v3
    )
    yield from rows(call, "stability", [0.5], lambda v: creating(stability=v))
    yield from rows(
        call,
        "stability",
        ["0.5", -0.1, 1.5],
        lambda v: creating(stability=v, model="eleven-v3"),
        eleven_v3,
    )
    yield from rows(call, "similarity_boost", [0.5], lambda v: creating(similarity_boost=v))
    yield from rows(
        call,
        "similarity_boost",
        ["0.5", 2],
        lambda v: creating(similarity_boost=v, model="eleven-v3"),
        eleven_v3,
    )
    yield from rows(call, "style", [0.5], lambda v: creating(style=v, model="eleven-v3"), eleven_v3)
    yield from rows(
        call,
        "style",
        ["0.5", 2],
        lambda v: creating(style=v, model="eleven-multilingual-v2"),
        multilingual,
    )
    yield from rows(call, "use_speaker_boost", [True], lambda v: creating(use_speaker_boost=v))
    yield from rows(
        call,
        "use_speaker_boost",
        [1, "true"],
        lambda v: creating(use_speaker_boost=v, model="eleven-multilingual-v2"),
        multilingual,
    )
    yield from rows(
        call,
        "reply_url",
        [
            1,
            "",
            "hooks/speech",
            "ftp://hooks.example/speech",
            "https://hooks.example/" + "a" * 1_003,
        ],
        lambda v: creating(reply_url=v),
    )
    yield from rows(call, "reply_ref", [1, "", "r" * 1_025], lambda v: creating(reply_ref=v))
    yield from rows(
        call, "max_jobs", ["3", True, 1.5, 0, 9, ENORMOUS_INT], lambda v: creating(max_jobs=v)
    )


CASES: list[Case] = [*constructor_cases(), *method_cases()]


@contextmanager
def no_token_in_environment() -> Iterator[None]:
    """``USEAPI_TOKEN`` unset while the rows run (one row relies on it)."""
    saved = os.environ.pop("USEAPI_TOKEN", None)
    try:
        yield
    finally:
        if saved is not None:
            os.environ["USEAPI_TOKEN"] = saved


async def run_case(case: Case, api: AsyncSpeechAPI, sent: respx.Route) -> Outcome:
    """Call one row; whatever it raises (or not), and how many requests it sent on the way."""
    before = sent.call_count
    try:
        result = case.invoke(api)
        if inspect.isawaitable(result):
            result = await result
        if isinstance(result, AsyncIterator):
            try:
                await anext(result)  # an accepted paging call: its first request tells
            finally:
                close = getattr(result, "aclose", None)
                if close is not None:
                    await close()
        if isinstance(result, AsyncSpeechAPI):
            await result.aclose()
    except Exception as exc:
        return Outcome(type(exc).__name__, str(exc), sent.call_count - before)
    return Outcome(None, "", sent.call_count - before)


async def run_cases(cases: list[Case]) -> list[Outcome]:
    """Run ``cases`` against one client whose every request is answered 599 and counted."""
    outcomes = []
    with (
        no_token_in_environment(),
        respx.mock(assert_all_called=False) as router,
    ):
        sent = router.route().respond(599)
        async with (
            httpx.AsyncClient(verify=SSL_CONTEXT) as http,
            AsyncSpeechAPI(TOKEN, base_url=BASE_URL, http_client=http, max_retries=0) as api,
        ):
            for case in cases:
                outcomes.append(await run_case(case, api, sent))
    return outcomes
