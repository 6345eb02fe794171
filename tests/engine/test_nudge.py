"""WaitEngine.nudge, the webhooks' entry: one confirming GET per id at a time, as a poll."""

from __future__ import annotations

from collections.abc import Callable

import anyio
import anyio.lowlevel
import pytest

from pixverse_speech import AsyncSpeechAPI, Speech, SpeechFailedError, _timing
from pixverse_speech._polling import PollSchedule
from pixverse_speech.testing import FakeSpeechAPI

pytestmark = pytest.mark.anyio
#: trio's autojump clock with the library's real timing: it moves only when every task is
#: blocked, so a nudge lands exactly when the test says, whatever is in flight.
on_trio_clock = pytest.mark.parametrize("anyio_backend", ["trio-virtual"], indirect=True)

LIST = "/v2/pixverse/speech/"
SLOW = PollSchedule(initial=30.0, maximum=30.0, jitter=0.0)


@pytest.fixture
async def fake(trio_clock_fake: Callable[[], FakeSpeechAPI]) -> FakeSpeechAPI:
    """A fake of one account on trio's mock clock."""
    return trio_clock_fake()


def _client(fake: FakeSpeechAPI) -> AsyncSpeechAPI:
    api = AsyncSpeechAPI(token=fake.token, base_url="http://fake/v2/", transport=fake.transport())
    api.wait_engine.default_schedule = SLOW  # as a client with webhooks polls
    return api


async def _nudge_at(api: AsyncSpeechAPI, audio_id: str, *times: float, count: int = 1) -> None:
    """Nudge ``audio_id`` ``count`` times at each of ``times`` (seconds from now)."""
    start = anyio.current_time()
    for when in times:
        await anyio.sleep(start + when - anyio.current_time())
        for _ in range(count):
            api.wait_engine.nudge(audio_id)


def _gets_at(fake: FakeSpeechAPI, when: float) -> int:
    return sum(1 for r in fake.requests if r.path != LIST and abs(r.time - when) < 1e-6)


@on_trio_clock
async def test_nudge_without_a_wait_sends_nothing(fake: FakeSpeechAPI) -> None:
    """A nudge for an id no one waits for (or an unknown id) sends no request."""
    audio_id = fake.add_job(queued_for=0.0, generating_for=0.0)
    async with _client(fake) as api:
        api.wait_engine.nudge(audio_id)
        api.wait_engine.nudge("user:1-pixverse:fake@example.com-speech:1")
        await anyio.lowlevel.checkpoint()
    assert fake.requests == []


@on_trio_clock
async def test_nudge_ends_the_wait_at_once_with_one_get(fake: FakeSpeechAPI) -> None:
    """A job done at 10 s, nudged at 12 s: its 30 s-schedule wait returns at 12 s, after 1 GET."""
    audio_id = fake.add_job(queued_for=1.0, generating_for=9.0)
    updates: list[str] = []
    async with _client(fake) as api, anyio.create_task_group() as tg:
        result: list[Speech] = []

        async def wait() -> None:
            result.append(
                await api.wait_until_final(
                    audio_id, on_update=lambda s: updates.append(s.status_name)
                )
            )

        tg.start_soon(_nudge_at, api, audio_id, 12.0)
        tg.start_soon(wait)
    assert result[0].is_completed
    assert result[0].path is not None
    assert fake.clock.now() == pytest.approx(12.0)
    assert [r.time for r in fake.requests] == [0.0, pytest.approx(12.0)]
    assert updates == ["QUEUED", "COMPLETED"]


@on_trio_clock
async def test_thousand_nudges_cost_one_get_and_a_later_one_another(fake: FakeSpeechAPI) -> None:
    """1,000 nudges at once cost one GET; a nudge after it found the job unfinished, one more."""
    audio_id = fake.add_job(queued_for=1.0, generating_for=200.0)
    async with _client(fake) as api, anyio.create_task_group() as tg:

        async def nudges() -> None:
            await _nudge_at(api, audio_id, 5.0, count=1_000)
            await _nudge_at(api, audio_id, 1.0)
            await anyio.sleep(1.0)
            tg.cancel_scope.cancel()

        tg.start_soon(nudges)
        tg.start_soon(api.wait_until_final, audio_id)
    assert _gets_at(fake, 5.0) == 1
    assert _gets_at(fake, 6.0) == 1
    assert len(fake.requests) == 3  # the first poll, and the two confirmations


@on_trio_clock
async def test_nudge_delivers_a_failure_as_a_poll_would(fake: FakeSpeechAPI) -> None:
    """A nudge that confirms a FAILED job raises SpeechFailedError, as the poll would."""
    audio_id = fake.add_job(queued_for=1.0, generating_for=2.0, outcome="failed")
    async with _client(fake) as api, anyio.create_task_group() as tg:

        async def wait() -> None:
            with pytest.raises(SpeechFailedError):
                await api.wait_until_final(audio_id)

        tg.start_soon(_nudge_at, api, audio_id, 4.0)
        tg.start_soon(wait)
    assert fake.clock.now() == pytest.approx(4.0)


@on_trio_clock
async def test_nudge_reaches_every_wait_on_the_id(fake: FakeSpeechAPI) -> None:
    """Two waits on one id and a wait on another: the nudge ends both of its id's, with one GET."""
    audio_id = fake.add_job(queued_for=1.0, generating_for=2.0)
    other = fake.add_job(queued_for=1.0, generating_for=100.0)
    ended: list[str] = []
    async with _client(fake) as api, anyio.create_task_group() as tg:

        async def wait(which: str) -> None:
            await api.wait_until_final(which)
            ended.append(which)

        async def nudge_then_check() -> None:
            await _nudge_at(api, audio_id, 5.0)
            await anyio.sleep(1.0)
            assert ended == [audio_id, audio_id]
            tg.cancel_scope.cancel()

        tg.start_soon(nudge_then_check)
        tg.start_soon(wait, audio_id)
        tg.start_soon(wait, audio_id)
        tg.start_soon(wait, other)
    assert _gets_at(fake, 5.0) == 1


class _HeldBackend:
    """A backend whose GETs wait until the test lets them answer: a request held in flight."""

    def __init__(self) -> None:
        self.fetches = 0
        self.release = anyio.Event()
        self.status = 10

    is_closed = False

    async def fetch(self, audio_id: str, **_: object) -> Speech:
        self.fetches += 1
        if self.fetches > 1:
            await self.release.wait()
        done = self.status == 1
        return Speech(
            audio_id=audio_id,
            audio_status=self.status,
            audio_status_name="COMPLETED" if done else "GENERATING",
            audio_status_final=done,
        )

    async def read_page(self, email: str, offset: int, **_: object) -> object:
        raise AssertionError("a lone wait reads no list")

    def decode(self, record: object, audio_id: str) -> Speech:
        raise AssertionError("not used")


async def test_nudges_during_a_confirmation_are_absorbed() -> None:
    """Nudges while the confirming GET is in flight add no GET; its record ends the wait."""
    from pixverse_speech._engine import WaitEngine
    from pixverse_speech._retry import RetryPolicy
    from pixverse_speech._waiting import WaitOptions

    backend = _HeldBackend()
    engine = WaitEngine(backend, retry=RetryPolicy())  # type: ignore[arg-type]
    audio_id = "user:1-pixverse:a@example.com-speech:7"
    options = WaitOptions(None, SLOW, None, True)
    result: list[Speech] = []
    with _timing.using(_timing.Timing()):
        async with anyio.create_task_group() as tg:

            async def wait() -> None:
                result.append(await engine.wait(audio_id, options, None))

            tg.start_soon(wait)
            while backend.fetches < 1:
                await anyio.lowlevel.checkpoint()
            engine.nudge(audio_id)
            while backend.fetches < 2:  # the confirmation is now held in flight
                await anyio.lowlevel.checkpoint()
            for _ in range(100):
                engine.nudge(audio_id)
                await anyio.lowlevel.checkpoint()
            backend.status = 1
            backend.release.set()
    assert backend.fetches == 2
    assert result[0].is_final
