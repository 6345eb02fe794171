"""The fake's state: accounts, jobs and how each job moves on with the clock.

A job's life is fixed when it is made: QUEUED for ``queued_for`` seconds from ``created``, then
GENERATING for ``generating_for`` seconds, then COMPLETED or FAILED for good.  Reading a job at
clock time ``t`` computes where it is, so nothing needs a background task.
"""

from __future__ import annotations

import math
import threading
from collections import deque
from collections.abc import Callable
from typing import Any

import attrs

from .._models import AudioStatus
from ._catalog import MODELS, VOICES
from ._clock import Clock, iso_timestamp
from ._validation import CreateParams
from ._wire import ApiError

__all__ = [
    "BITRATE",
    "DEFAULT_FAIL_CODE",
    "DEFAULT_FAIL_REASON",
    "Job",
    "SpeechState",
    "media_bytes",
    "media_size",
]

DEFAULT_FAIL_CODE = "50001"
DEFAULT_FAIL_REASON = "Speech generation failed: upstream provider error, please try again"

_STATUS_WORD = {
    AudioStatus.QUEUED: "queued",
    AudioStatus.GENERATING: "generating",
    AudioStatus.COMPLETED: "finish",
    AudioStatus.FAILED: "failed",
}

# The fake's "mp3": an ID3v2 header and MPEG-1 Layer III frames (128 kbit/s, 44.1 kHz, mono).
BITRATE = 128_000
SAMPLE_RATE = 44_100
_ID3 = b"ID3\x04\x00\x00\x00\x00\x00\x00"
_FRAME_LEN = 144 * BITRATE // SAMPLE_RATE  # 417 bytes
_FRAMES_PER_SECOND = SAMPLE_RATE / 1152


def _frame(number: int) -> bytes:
    body = number.to_bytes(8, "big") * ((_FRAME_LEN - 4) // 8 + 1)
    return (b"\xff\xfb\x90\xc4" + body)[:_FRAME_LEN]


def _frames(duration: float) -> int:
    return max(1, math.ceil(duration * _FRAMES_PER_SECOND))


def media_size(duration: float) -> int:
    """The byte size of the fake mp3 of a clip ``duration`` seconds long."""
    return len(_ID3) + _frames(duration) * _FRAME_LEN


def media_bytes(number: int, duration: float) -> bytes:
    """The fake mp3 of job ``number``: same bytes every time, ``media_size(duration)`` long."""
    return _ID3 + _frame(number) * _frames(duration)


@attrs.define
class Job:
    """One speech job and the fixed plan of its life."""

    number: int
    user_id: str
    email: str
    prompt: str
    model: str
    voice_id: str
    voice_name: str
    language_code: str
    created: float
    queued_for: float
    generating_for: float
    outcome: AudioStatus
    fail_code: str
    fail_reason: str
    speed: float = 1.0
    settings: dict[str, Any] = attrs.field(factory=dict)
    #: Where the fake calls back when the job ends (``replyUrl``), if anywhere.
    reply_url: str | None = None

    @property
    def audio_id(self) -> str:
        return f"user:{self.user_id}-pixverse:{self.email}-speech:{self.number}"

    @property
    def provider(self) -> str:
        model = MODELS.get(self.model)
        return model.provider if model is not None else "unknown"

    @property
    def credits(self) -> float:
        model = MODELS.get(self.model)
        return model.credits_for(self.prompt) if model is not None else 1

    @property
    def duration(self) -> int:
        """Seconds of audio: about ten characters a second at speed 1."""
        return max(1, math.ceil(len(self.prompt) / (10 * self.speed)))

    @property
    def file_size(self) -> int:
        return media_size(self.duration)

    @property
    def media_name(self) -> str:
        return f"{self.number}.mp3"

    @property
    def ends_at(self) -> float:
        """The clock time at which the job becomes final."""
        return self.created + self.queued_for + self.generating_for

    def status_at(self, now: float) -> AudioStatus:
        if now < self.created + self.queued_for:
            return AudioStatus.QUEUED
        if now < self.created + self.queued_for + self.generating_for:
            return AudioStatus.GENERATING
        return self.outcome

    def updated_at(self, now: float) -> float:
        status = self.status_at(now)
        if status is AudioStatus.QUEUED:
            return self.created
        if status is AudioStatus.GENERATING:
            return self.created + self.queued_for
        return self.created + self.queued_for + self.generating_for

    def record(self, now: float, *, media_origin: str, full: bool) -> dict[str, Any]:
        """The job as the API shows it at clock time ``now``.

        ``full``: the retrieve shape (``path``, ``file_size``, audio format fields and, for a
        FAILED job, ``fail_code``/``fail_reason``); otherwise the list shape, which has none of
        those, as in the upstream list model.
        """
        status = self.status_at(now)
        completed = status is AudioStatus.COMPLETED
        out: dict[str, Any] = {
            "audio_id": self.audio_id,
            "asset_id": self.number,
            "audio_status": int(status),
            "status": _STATUS_WORD[status],
            "create_mode": "voice",
            "provider": self.provider,
            "model": self.model,
            "voice_id": self.voice_id,
            "voice_name": self.voice_name,
            "language_code": self.language_code,
            "prompt": self.prompt,
        }
        if completed:
            if full:
                out["path"] = f"pixverse/audio/speech/{self.media_name}"
            out["url"] = f"{media_origin}/media/{self.media_name}"
        out["name"] = f"PixVerse_Speech_{self.media_name}"
        if completed:
            out["duration"] = self.duration
            if full:
                out["file_size"] = self.file_size
                out["format"] = "mp3"
                out["sample_rate"] = SAMPLE_RATE
                out["bitrate"] = BITRATE
                out["channel"] = 1
        out["credits"] = self.credits
        out["created_at"] = iso_timestamp(self.created)
        out["updated_at"] = iso_timestamp(self.updated_at(now))
        if full and status is AudioStatus.FAILED:
            out["fail_code"] = self.fail_code
            out["fail_reason"] = self.fail_reason
        out["audio_status_name"] = status.name
        out["audio_status_final"] = status.is_final
        return out


def voice_name(voice_id: str) -> str:
    voice = VOICES.get(voice_id)
    return voice.display_name if voice is not None else voice_id


class SpeechState:
    """Accounts and jobs behind one lock; every method is safe to call from any thread."""

    def __init__(
        self,
        *,
        clock: Clock,
        accounts: tuple[str, ...],
        user_id: str,
        max_jobs: int,
        queued_for: float,
        generating_for: float,
        first_number: int,
        media_origin: str,
        retry_after: float | None,
    ) -> None:
        self.lock = threading.RLock()
        self.clock = clock
        self.accounts = accounts
        self.user_id = user_id
        self.max_jobs = max_jobs
        self.queued_for = queued_for
        self.generating_for = generating_for
        self.media_origin = media_origin
        self.retry_after = retry_after
        self._jobs: dict[str, Job] = {}
        self._by_number: dict[int, Job] = {}
        self._next_number = first_number
        self._outcomes: deque[tuple[AudioStatus, str, str]] = deque()
        #: Told of every new job (under the lock; it must be quick): the callback sender.
        self.on_new_job: Callable[[Job], None] | None = None

    # -- jobs ---------------------------------------------------------------------------------

    def new_job(
        self,
        *,
        email: str,
        prompt: str,
        model: str,
        voice_id: str,
        language_code: str | None,
        queued_for: float | None,
        generating_for: float | None,
        outcome: AudioStatus | None,
        fail_code: str | None,
        fail_reason: str | None,
        speed: float | None = None,
        settings: dict[str, Any] | None = None,
        reply_url: str | None = None,
    ) -> Job:
        with self.lock:
            if outcome is None:
                if self._outcomes:
                    outcome, queued_code, queued_reason = self._outcomes.popleft()
                    fail_code = fail_code or queued_code
                    fail_reason = fail_reason or queued_reason
                else:
                    outcome = AudioStatus.COMPLETED
            voice = VOICES.get(voice_id)
            job = Job(
                number=self._next_number,
                user_id=self.user_id,
                email=email,
                prompt=prompt,
                model=model,
                voice_id=voice_id,
                voice_name=voice_name(voice_id),
                language_code=language_code or (voice.language if voice is not None else "en"),
                created=self.clock.now(),
                queued_for=self.queued_for if queued_for is None else queued_for,
                generating_for=self.generating_for if generating_for is None else generating_for,
                outcome=outcome,
                fail_code=fail_code or DEFAULT_FAIL_CODE,
                fail_reason=fail_reason or DEFAULT_FAIL_REASON,
                speed=speed or 1.0,
                settings=dict(settings or {}),
                reply_url=reply_url,
            )
            self._next_number += 1
            self._jobs[job.audio_id] = job
            self._by_number[job.number] = job
            if self.on_new_job is not None:
                self.on_new_job(job)
            return job

    def fail_next(self, count: int, fail_code: str | None, fail_reason: str | None) -> None:
        with self.lock:
            for _ in range(count):
                self._outcomes.append(
                    (
                        AudioStatus.FAILED,
                        fail_code or DEFAULT_FAIL_CODE,
                        fail_reason or DEFAULT_FAIL_REASON,
                    )
                )

    def remove(self, audio_id: str) -> None:
        with self.lock:
            job = self._jobs.pop(audio_id)
            del self._by_number[job.number]

    def audio_ids(self) -> list[str]:
        with self.lock:
            return list(self._jobs)

    def record(self, audio_id: str, *, full: bool = True) -> dict[str, Any] | None:
        with self.lock:
            job = self._jobs.get(audio_id)
            if job is None:
                return None
            return job.record(self.clock.now(), media_origin=self.media_origin, full=full)

    def media_of(self, audio_id: str) -> bytes | None:
        """The audio of job ``audio_id``, if it exists and is COMPLETED."""
        with self.lock:
            job = self._jobs.get(audio_id)
        return None if job is None else self.media(job.number)

    def media(self, number: int) -> bytes | None:
        """The audio of job ``number``, if it exists and is COMPLETED."""
        with self.lock:
            job = self._by_number.get(number)
            if job is None or job.status_at(self.clock.now()) is not AudioStatus.COMPLETED:
                return None
            duration = job.duration
        return media_bytes(number, duration)

    # -- accounts -----------------------------------------------------------------------------

    def account_for_query(self, email: str | None) -> str:
        """The account a GET names, by the list endpoint's rules."""
        if email:
            if email not in self.accounts:
                raise ApiError(400, f"Account {email} is not configured")
            return email
        if len(self.accounts) > 1:
            raise ApiError(
                400, "Parameter email is required when more than one account is configured"
            )
        return self.accounts[0]

    def unfinished(self, email: str, now: float) -> int:
        with self.lock:
            return sum(
                1
                for job in self._jobs.values()
                if job.email == email and not job.status_at(now).is_final
            )

    def list_page(self, email: str, limit: int, offset: int) -> dict[str, Any]:
        with self.lock:
            now = self.clock.now()
            mine = [job for job in reversed(self._jobs.values()) if job.email == email]
            data = [
                job.record(now, media_origin=self.media_origin, full=False)
                for job in mine[offset : offset + limit]
            ]
            return {
                "data": data,
                "next_offset": offset + limit,
                "has_more": len(mine) > offset + limit,
            }

    def create(self, params: CreateParams) -> dict[str, Any]:
        """Admit a validated create request: a new job's full record, or a 400/429."""
        with self.lock:
            now = self.clock.now()
            cap = params.max_jobs if params.max_jobs is not None else self.max_jobs
            if params.email is not None:
                if params.email not in self.accounts:
                    raise ApiError(400, f"Account {params.email} is not configured")
                busy = self.unfinished(params.email, now)
                if busy >= cap:
                    raise self._busy(
                        f"Account {params.email} is busy: {busy} of {cap} concurrent jobs "
                        "are running, retry later"
                    )
                email = params.email
            else:
                free = [a for a in self.accounts if self.unfinished(a, now) < cap]
                if not free:
                    raise self._busy(
                        f"All accounts are busy running {cap} concurrent jobs, retry later"
                    )
                email = free[0]
            job = self.new_job(
                email=email,
                prompt=params.text,
                model=params.model.model,
                voice_id=params.voice_id,
                language_code=params.language_code,
                queued_for=None,
                generating_for=None,
                outcome=None,
                fail_code=None,
                fail_reason=None,
                speed=params.speed,
                settings=params.settings,
                reply_url=params.reply_url,
            )
            return job.record(self.clock.now(), media_origin=self.media_origin, full=True)

    def _busy(self, message: str) -> ApiError:
        headers: tuple[tuple[str, str], ...] = ()
        if self.retry_after is not None:
            headers = (("retry-after", f"{self.retry_after:g}"),)
        return ApiError(429, message, headers=headers)
