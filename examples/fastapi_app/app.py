"""A small FastAPI backend on pixverse_speech: the pattern we recommend.

- One ``AsyncSpeechAPI`` for the whole app, opened and closed by the lifespan, shared by every
  request through a dependency (it holds the connection pool: never one client per request).
- Library errors become HTTP answers in one exception handler, keeping the job's id.
- Waiting is bounded: ``POST /jobs/{id}/wait`` waits at most ``timeout`` seconds and answers 202
  with the last status seen when the job is not final by then.
- With a :class:`~pixverse_speech.webhooks.WebhookHub` (``SPEECH_WEBHOOK_URL`` set), ``POST
  /speech`` creates a job whose callback comes back to the hub, served by this app at that URL's
  path, and ``POST /speech/{id}/wait`` returns as soon as it does: one confirming request per job
  instead of a poll every few seconds.  With ``REDIS_URL`` too, any worker's wait hears of a
  callback that landed on another.

Run it with ``USEAPI_TOKEN=... uvicorn examples.fastapi_app.app:app``, and for webhooks add
``SPEECH_WEBHOOK_URL=https://your.host/hooks/speech`` (the public URL the API can reach),
``SPEECH_WEBHOOK_SECRET=...`` and, for several workers, ``REDIS_URL=redis://...``.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Callable
from contextlib import AsyncExitStack, asynccontextmanager
from typing import Annotated, Any
from urllib.parse import urlsplit

from fastapi import Depends, FastAPI, Query, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from starlette.routing import Route

from pixverse_speech import (
    APIConnectionError,
    AsyncSpeechAPI,
    BadRequestError,
    NotFoundError,
    RateLimitError,
    ServerError,
    Speech,
    SpeechError,
    WaitTimeoutError,
)
from pixverse_speech.webhooks import WebhookHub


class CreateJob(BaseModel):
    """What a caller sends to start a job."""

    text: str = Field(min_length=1)
    voice_id: str = Field(min_length=1)
    model: str | None = None


class Job(BaseModel):
    """What the backend tells its callers about a job."""

    audio_id: str
    status: str
    final: bool
    url: str | None = None
    duration: float | None = None
    fail_reason: str | None = None

    @classmethod
    def of(cls, speech: Speech) -> Job:
        return cls(
            audio_id=speech.audio_id or "",
            status=speech.status_name,
            final=speech.is_final,
            url=speech.url,
            duration=speech.duration,
            fail_reason=speech.fail_reason,
        )


def speech_api(request: Request) -> AsyncSpeechAPI:
    """The app's one client, opened by the lifespan."""
    api: AsyncSpeechAPI = request.app.state.speech
    return api


# Module level, not inside create_app: FastAPI resolves these annotations in module globals.
API = Annotated[AsyncSpeechAPI, Depends(speech_api)]


def _status_for(exc: SpeechError) -> int:
    if isinstance(exc, NotFoundError):
        return 404
    if isinstance(exc, BadRequestError):
        return 400
    if isinstance(exc, RateLimitError):
        return 429
    if isinstance(exc, (APIConnectionError, ServerError)):
        return 503
    # Anything else (our token refused among them) is the upstream failing us, not the
    # caller's mistake: a bad gateway, never a 401 that would blame the caller's credentials.
    return 502


def hub_from_environment() -> WebhookHub | None:
    """The webhook hub the environment asks for, if any (``SPEECH_WEBHOOK_URL``)."""
    url = os.environ.get("SPEECH_WEBHOOK_URL")
    if not url:
        return None
    return WebhookHub(
        url,
        secret=os.environ.get("SPEECH_WEBHOOK_SECRET") or None,
        redis_url=os.environ.get("REDIS_URL") or None,
    )


def create_app(
    client_factory: Callable[[], AsyncSpeechAPI] | None = None,
    *,
    hub: WebhookHub | None = None,
) -> FastAPI:
    """The app; ``client_factory`` makes its one client (tests pass one bound to the fake).

    With ``hub`` the app serves the hub's callbacks at its URL's path, and the default client
    uses it (a ``client_factory`` of your own should pass ``webhooks=hub`` itself).
    """

    def default_client() -> AsyncSpeechAPI:
        return AsyncSpeechAPI(webhooks=hub)

    make_client = client_factory or default_client

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with AsyncExitStack() as stack:
            if hub is not None:
                await stack.enter_async_context(hub)  # connects Redis, if configured
            app.state.speech = await stack.enter_async_context(make_client())
            yield

    app = FastAPI(title="speech jobs", lifespan=lifespan)
    if hub is not None:
        # A route, not a mount: it answers the URL's exact path without a redirect.
        path = urlsplit(hub.url).path.rstrip("/") or "/"
        app.router.routes.append(Route(path, hub.app, methods=["POST"], include_in_schema=False))

    @app.exception_handler(SpeechError)
    async def speech_error(request: Request, exc: SpeechError) -> JSONResponse:
        body: dict[str, Any] = {"error": str(exc), "type": type(exc).__name__}
        if exc.audio_id:
            body["audio_id"] = exc.audio_id
        headers = {}
        if isinstance(exc, RateLimitError) and exc.retry_after is not None:
            headers["Retry-After"] = str(max(1, round(exc.retry_after)))
        return JSONResponse(body, status_code=_status_for(exc), headers=headers)

    @app.exception_handler(ValueError)
    async def bad_input(request: Request, exc: ValueError) -> JSONResponse:
        return JSONResponse({"error": str(exc), "type": "ValueError"}, status_code=422)

    @app.post("/jobs", status_code=202)
    async def start_job(job: CreateJob, api: API) -> Job:
        speech = await api.create(job.text, job.voice_id, model=job.model)
        return Job.of(speech)

    @app.get("/jobs")
    async def list_jobs(
        api: API,
        limit: Annotated[int, Query(ge=1, le=100)] = 20,
        offset: Annotated[int, Query(ge=0)] = 0,
    ) -> list[Job]:
        page = await api.list(limit=limit, offset=offset)
        return [Job.of(speech) for speech in page.data]

    @app.get("/jobs/{audio_id}")
    async def get_job(audio_id: str, api: API) -> Job:
        return Job.of(await api.get(audio_id))

    @app.post("/jobs/{audio_id}/wait")
    async def wait_for_job(
        audio_id: str,
        api: API,
        timeout: Annotated[float, Query(gt=0, le=120)] = 30.0,
    ) -> JSONResponse:
        try:
            speech = await api.wait_until_final(audio_id, timeout=timeout, raise_on_failure=False)
        except WaitTimeoutError as exc:
            seen = exc.last or Speech(audio_id=audio_id)
            return JSONResponse(Job.of(seen).model_dump(), status_code=202)
        return JSONResponse(Job.of(speech).model_dump(), status_code=200)

    @app.post("/speech", status_code=202)
    async def create_speech(job: CreateJob, api: API) -> Job:
        # On a client with webhooks=hub the job's replyUrl is the hub's: its callback comes back.
        speech = await api.create(job.text, job.voice_id, model=job.model)
        return Job.of(speech)

    @app.post("/speech/{audio_id}/wait")
    async def wait_for_speech(
        audio_id: str,
        api: API,
        timeout: Annotated[float, Query(gt=0, le=600)] = 120.0,
    ) -> JSONResponse:
        # With a hub, this returns as soon as the callback arrives (polls are the safety net).
        return await wait_for_job(audio_id, api, timeout)

    return app


app = create_app(hub=hub_from_environment())
