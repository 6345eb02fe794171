"""Decoding cost per record and per page, and the library's own cost per call, in-process.

No sockets here: the bodies are the fake API's own (a ~0.7 KB job record and a 50-record page),
and the per-call comparison runs both clients over one canned-answer httpx transport, so that what
differs is only what the library does around the request (building it, its limiter, decoding,
validation, the retry loop's bookkeeping).  Times are CPU µs per operation, best of 5 runs.

The decode table also shows the tolerant path alone (what a record takes when the fast path cannot
decode it) and a page whose every record has one field of the wrong type, and each figure as a
multiple of ``json.loads`` (x) on the same body, the steadier measure on a shared machine.

    python benchmarks/decode.py
"""

from __future__ import annotations

import asyncio
import json
import logging
import sys
import time
import timeit
from collections.abc import Callable

import httpx
from _common import machine, md_table, pin_client

from pixverse_speech import AsyncSpeechAPI
from pixverse_speech._converter import SLOW_PATHS, structure
from pixverse_speech._models import Speech, SpeechPage
from pixverse_speech.testing import FakeClock, FakeSpeechAPI

EMAIL = "bench@example.com"


def bodies() -> tuple[bytes, bytes, str, str]:
    """(record body, 50-record page body, an audio_id, the fake's token)."""
    fake = FakeSpeechAPI(clock=FakeClock(), accounts=(EMAIL,))
    ids = [fake.add_job(queued_for=0, generating_for=0) for _ in range(50)]

    async def fetch() -> tuple[bytes, bytes]:
        headers = {"Authorization": f"Bearer {fake.token}"}
        async with fake.http_client(headers=headers) as http:
            record = await http.get(f"pixverse/speech/{ids[0]}")
            page = await http.get(f"pixverse/speech/?email={EMAIL}&limit=50")
            return record.content, page.content

    record, page = asyncio.run(fetch())
    assert fake.token is not None
    return record, page, ids[0], fake.token


def per_op(func: Callable[[], object], number: int) -> float:
    """CPU µs per call of ``func``, best of 5."""
    timer = timeit.Timer(func, timer=time.process_time)
    return min(timer.repeat(repeat=5, number=number)) / number * 1e6


def decoding(record: bytes, page: bytes) -> str:
    rec_obj, page_obj = json.loads(record), json.loads(page)
    rows = []
    try:
        import orjson
    except ImportError:  # not a dependency: a reference point where installed
        pass
    else:
        rows.append(
            [
                "`orjson.loads` (for reference)",
                f"{per_op(lambda: orjson.loads(record), 5000):.1f}",
                f"{per_op(lambda: orjson.loads(page), 200):.0f}",
            ]
        )
    slow = SLOW_PATHS[Speech]
    odd_rec = {**rec_obj, "duration": "3s"}
    odd_page = {**page_obj, "data": [{**item, "duration": "3s"} for item in page_obj["data"]]}
    quiet = logging.getLogger("pixverse_speech")
    quiet.disabled = True  # the odd page's once-per-field warning is not what is measured
    base_record = per_op(lambda: json.loads(record), 5000)
    base_page = per_op(lambda: json.loads(page), 200)
    timed: list[tuple[str, float, float]] = [("`json.loads`", base_record, base_page)]
    for name, on_record, on_page in (
        (
            "`structure` (dict -> validated attrs)",
            lambda: structure(rec_obj, Speech),
            lambda: structure(page_obj, SpeechPage),
        ),
        (
            "both: what the client does per body",
            lambda: structure(json.loads(record), Speech),
            lambda: structure(json.loads(page), SpeechPage),
        ),
        (
            "tolerant path alone (no fast path)",
            lambda: slow(rec_obj, Speech),
            lambda: [slow(item, Speech) for item in page_obj["data"]],
        ),
        (
            "`structure`, one odd field per record",
            lambda: structure(odd_rec, Speech),
            lambda: structure(odd_page, SpeechPage),
        ),
    ):
        timed.append((name, per_op(on_record, 5000), per_op(on_page, 200)))
    quiet.disabled = False
    rows.extend(
        [
            name,
            f"{on_record:.1f} ({on_record / base_record:.2f}x)",
            f"{on_page:.0f} ({on_page / base_page:.2f}x)",
        ]
        for name, on_record, on_page in timed
    )
    return md_table(
        [
            "work (CPU µs; x `json.loads`)",
            f"one record ({len(record):,} B)",
            f"50-record page ({len(page):,} B)",
        ],
        rows,
    )


async def _calls(record: bytes, page: bytes, audio_id: str, token: str, n: int) -> list[list[str]]:
    def answer(request: httpx.Request) -> httpx.Response:
        body = page if request.url.path.endswith("/speech/") else record
        return httpx.Response(200, content=body, headers={"content-type": "application/json"})

    base = "http://bench.invalid/v2/"
    headers = {"Authorization": f"Bearer {token}", "Accept": "application/json"}
    record_url = f"{base}pixverse/speech/{audio_id}"
    page_url = f"{base}pixverse/speech/?email={EMAIL}&limit=50"

    async def timed(call: Callable[[], object]) -> float:
        best = float("inf")
        for _ in range(5):
            started = time.process_time()
            for _ in range(n):
                await call()  # type: ignore[misc]
            best = min(best, time.process_time() - started)
        return best / n * 1e6

    rows = []
    async with (
        httpx.AsyncClient(transport=httpx.MockTransport(answer)) as http,
        AsyncSpeechAPI(
            token=token, email=EMAIL, base_url=base, transport=httpx.MockTransport(answer)
        ) as api,
    ):

        async def bare(url: str) -> object:
            response = await http.get(url, headers=headers)
            response.raise_for_status()
            return response.json()

        for what, bare_call, our_call in (
            ("`get` (one record)", lambda: bare(record_url), lambda: api.get(audio_id)),
            ("`list` (50 records)", lambda: bare(page_url), lambda: api.list(limit=50)),
        ):
            b = await timed(bare_call)
            o = await timed(our_call)
            rows.append([what, f"{b:,.0f}", f"{o:,.0f}", f"{o - b:+,.0f}"])
    return rows


def library_cost(record: bytes, page: bytes, audio_id: str, token: str) -> str:
    rows = asyncio.run(_calls(record, page, audio_id, token, 500))
    return md_table(
        [
            "call (in-process transport)",
            "bare httpx GET + json() (µs)",
            "the client (µs)",
            "the library's own cost (µs)",
        ],
        rows,
    )


def main() -> int:
    pin_client()
    started = time.perf_counter()
    record, page, audio_id, token = bodies()
    print("## Decoding, and the library's own cost per call (in-process)")
    print()
    print(f"Machine: {machine()}.")
    print()
    print("### Decode cost per record and per page (CPU µs, best of 5)")
    print()
    print(decoding(record, page))
    print()
    print("### The library's own cost per call, over one canned-answer transport (CPU µs)")
    print()
    print(library_cost(record, page, audio_id, token))
    print()
    print(f"({time.perf_counter() - started:.0f} s)", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
