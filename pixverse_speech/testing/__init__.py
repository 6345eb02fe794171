"""A stateful, in-memory fake of the PixVerse speech API, for tests, benchmarks and demos.

In-process, with no sockets::

    import httpx
    from pixverse_speech import AsyncSpeechAPI
    from pixverse_speech.testing import Fault, FakeClock, FakeSpeechAPI

    fake = FakeSpeechAPI(clock=FakeClock())
    async with AsyncSpeechAPI(
        token=fake.token, base_url="http://fake/v2/", transport=fake.transport()
    ) as api:
        audio_id = fake.add_job(prompt="Hello there.")
        fake.inject(Fault.status(503), path="speech/", times=1)   # one transient error
        with fake.virtual_time():                                   # waits take no real time
            speech = await api.wait_until_final(audio_id)

or, with your own ``httpx.AsyncClient``::

    http = httpx.AsyncClient(transport=fake.transport(), base_url="http://fake/v2/")
    api = AsyncSpeechAPI(token=fake.token, base_url="http://fake/v2/", http_client=http)

Over a real socket (uvicorn on a background thread; needs the ``server`` extra)::

    with fake.serve() as base_url:          # e.g. "http://127.0.0.1:54321/v2/"
        ...

Scaled-down real waits, without a fake clock::

    with fast_waits():                      # every client pause becomes 0 s
        ...

See ``docs/fake-api.md`` for the endpoints, fault kinds and how the fake compares with upstream.
"""

from __future__ import annotations

from ._asgi import ConnectionDropped, FakeASGIApp
from ._callbacks import SentCallback
from ._catalog import DEFAULT_MODEL, DEFAULT_VOICE_ID
from ._clock import EPOCH, Clock, FakeClock, RealClock
from ._fake import DEFAULT_MEDIA_ORIGIN, FakeSpeechAPI
from ._faults import DelayFault, DropFault, Fault, FaultHandle, MalformedFault, StatusFault
from ._transport import FakeTransport
from ._waits import fast_waits, reset_timing, set_sleep_scale, virtual_time, virtual_timing
from ._wire import RecordedRequest

__all__ = [
    "DEFAULT_MEDIA_ORIGIN",
    "DEFAULT_MODEL",
    "DEFAULT_VOICE_ID",
    "EPOCH",
    "Clock",
    "ConnectionDropped",
    "DelayFault",
    "DropFault",
    "FakeASGIApp",
    "FakeClock",
    "FakeSpeechAPI",
    "FakeTransport",
    "Fault",
    "FaultHandle",
    "MalformedFault",
    "RealClock",
    "RecordedRequest",
    "SentCallback",
    "StatusFault",
    "fast_waits",
    "reset_timing",
    "set_sleep_scale",
    "virtual_time",
    "virtual_timing",
]
