"""``hub.app`` and ``hub.reply_url``: signatures, bodies, statuses and paths, over real sockets."""

from __future__ import annotations

import threading
from typing import Any
from urllib.parse import parse_qs, urlsplit

import anyio
import httpx
import pytest
from fastapi import FastAPI
from starlette.applications import Starlette
from starlette.routing import Mount, Route

from pixverse_speech.webhooks import WebhookHub

from ._support import Heard, bind_loopback, serve_asgi
from .conftest import ServeHub

pytestmark = pytest.mark.anyio

AUDIO_ID = "user:1-pixverse:fake@example.com-speech:11223344"


def _with_query(url: str, **params: str) -> str:
    return url.split("?")[0] + "?" + "&".join(f"{k}={v}" for k, v in params.items())


# -- reply URLs ---------------------------------------------------------------------------------


def test_reply_url_without_a_secret_is_plain() -> None:
    """Without a secret the reply URL is the hub's URL, plus ``ref`` when a reply_ref is given."""
    hub = WebhookHub("https://app.example.com/hooks/speech")
    assert hub.reply_url() == "https://app.example.com/hooks/speech"
    assert hub.reply_url("order 7/a") == "https://app.example.com/hooks/speech?ref=order%207%2Fa"


def test_reply_url_with_a_secret_is_signed_per_path_and_ref() -> None:
    """A secret adds a ``sig`` that depends on the secret, the path and the reply_ref."""
    hub = WebhookHub("https://app.example.com/hooks/speech", secret="s3cret")
    plain, ref_a, ref_b = hub.reply_url(), hub.reply_url("a"), hub.reply_url("b")
    sigs = [parse_qs(urlsplit(url).query)["sig"][0] for url in (plain, ref_a, ref_b)]
    assert len(set(sigs)) == 3
    assert all(len(sig) == 64 for sig in sigs)  # hex SHA-256
    assert hub.reply_url("a") == ref_a  # deterministic
    other_path = WebhookHub("https://app.example.com/hooks/other", secret="s3cret")
    other_secret = WebhookHub("https://app.example.com/hooks/speech", secret="another")
    assert other_path.reply_url("a").split("sig=")[1] != ref_a.split("sig=")[1]
    assert other_secret.reply_url("a") != ref_a
    assert "s3cret" not in repr(hub)


@pytest.mark.parametrize(
    ("kwargs", "error", "name"),
    [
        ({"url": 5}, TypeError, "url"),
        ({"url": "/hooks"}, ValueError, "url"),
        ({"url": "ftp://x/hooks"}, ValueError, "url"),
        ({"url": "https://x/hooks?a=1"}, ValueError, "url"),
        ({"url": "https://x/hooks#frag"}, ValueError, "url"),
        ({"url": "https://x:99999/hooks"}, ValueError, "url"),
        ({"secret": 5}, TypeError, "secret"),
        ({"secret": ""}, ValueError, "secret"),
        ({"fallback_poll_interval": "30"}, TypeError, "fallback_poll_interval"),
        ({"fallback_poll_interval": 0}, ValueError, "fallback_poll_interval"),
        ({"fallback_poll_interval": float("inf")}, ValueError, "fallback_poll_interval"),
        ({"redis_url": "http://localhost:6379"}, ValueError, "redis_url"),
        ({"redis_url": 6379}, TypeError, "redis_url"),
    ],
)
def test_bad_configuration_is_refused_naming_the_parameter(
    kwargs: dict[str, Any], error: type[Exception], name: str
) -> None:
    """Each bad argument raises TypeError/ValueError naming it, at construction."""
    arguments: dict[str, Any] = {"url": "https://app.example.com/hooks", **kwargs}
    with pytest.raises(error, match=name):
        WebhookHub(**arguments)


def test_repr_hides_the_redis_password() -> None:
    """A Redis URL's credentials never appear in the hub's repr."""
    hub = WebhookHub("https://x/hooks", redis_url="redis://user:hunter2@127.0.0.1:6379/0")
    assert "hunter2" not in repr(hub)
    assert "127.0.0.1:6379" in repr(hub)


# -- signatures over a real socket --------------------------------------------------------------


async def test_a_signed_callback_is_accepted(served_hub: ServeHub) -> None:
    """A callback at the signed reply URL is answered exactly 200 and heard by the listener."""
    heard = Heard()
    with served_hub(secret="s3cret") as hub:
        hub.add_listener(heard)
        async with httpx.AsyncClient() as http:
            answer = await http.post(hub.reply_url("ref-1"), json={"audio_id": AUDIO_ID})
        assert answer.status_code == 200
        assert await heard.until(1) == [AUDIO_ID]


@pytest.mark.parametrize(
    "forge",
    [
        pytest.param(lambda hub: hub.url, id="unsigned"),
        pytest.param(lambda hub: _with_query(hub.url, sig="0" * 64), id="zero signature"),
        pytest.param(
            lambda hub: hub.reply_url("a").replace("ref=a", "ref=b"), id="reply_ref swapped"
        ),
        pytest.param(lambda hub: hub.reply_url("a")[:-1] + "x", id="signature tampered"),
        pytest.param(
            lambda hub: WebhookHub(hub.url, secret="guess").reply_url("a"), id="other secret"
        ),
        pytest.param(
            lambda hub: hub.reply_url() + "&sig=" + "1" * 64, id="second signature appended"
        ),
        pytest.param(lambda hub: _with_query(hub.url, sig="%ff"), id="undecodable signature"),
        pytest.param(lambda hub: hub.reply_url("a").replace("?", "?ref=a&"), id="ref twice"),
    ],
)
async def test_a_forged_callback_gets_401_and_is_not_heard(
    served_hub: ServeHub, forge: Any
) -> None:
    """With a secret, a missing, forged, tampered or ambiguous signature gets 401; nobody hears."""
    heard = Heard()
    with served_hub(secret="s3cret") as hub:
        hub.add_listener(heard)
        async with httpx.AsyncClient() as http:
            answer = await http.post(forge(hub), json={"audio_id": AUDIO_ID})
            # A valid callback afterwards proves the listener was live all along.
            control = await http.post(hub.reply_url(), json={"audio_id": "control"})
        assert answer.status_code == 401
        assert control.status_code == 200
        assert await heard.until(1) == ["control"]


@pytest.mark.parametrize(
    "body",
    [
        pytest.param(b"", id="empty"),
        pytest.param(b"not json", id="not json"),
        pytest.param(b"\xff\xfe", id="not utf-8"),
        pytest.param(b'["audio_id"]', id="an array"),
        pytest.param(b'"user:1-speech:1"', id="a string"),
        pytest.param(b"{}", id="no audio_id"),
        pytest.param(b'{"audio_id": 11223344}', id="a number"),
        pytest.param(b'{"audio_id": null}', id="null"),
        pytest.param(b'{"audio_id": "  "}', id="blank"),
        pytest.param(b'{"audio_id": "x"' + b" " * (1 << 20) + b"}", id="over 1 MiB"),
        pytest.param(b"[" * 100_000, id="deeply nested"),
    ],
)
async def test_a_malformed_body_gets_400(served_hub: ServeHub, body: bytes) -> None:
    """A body that is not a JSON object with a non-blank string audio_id gets 400; nobody hears."""
    heard = Heard()
    with served_hub() as hub:
        hub.add_listener(heard)
        async with httpx.AsyncClient() as http:
            answer = await http.post(
                hub.reply_url(), content=body, headers={"content-type": "application/json"}
            )
        assert answer.status_code == 400
        assert heard.ids == []


async def test_an_unknown_id_gets_exactly_200(served_hub: ServeHub) -> None:
    """A well-formed callback for an id nobody waits for is exactly 200 (the API must not retry)."""
    with served_hub() as hub:
        async with httpx.AsyncClient() as http:
            answer = await http.post(hub.reply_url(), json={"audio_id": "nobody-waits"})
        assert answer.status_code == 200
        assert answer.json() == {"ok": True}


async def test_only_post_under_the_hub_path_is_handled(served_hub: ServeHub) -> None:
    """Other methods get 405 (Allow: POST); paths outside the URL's get 404; sub-paths work."""
    heard = Heard()
    with served_hub("/hooks/speech") as hub:
        hub.add_listener(heard)
        origin = hub.url.removesuffix("/hooks/speech")
        async with httpx.AsyncClient() as http:
            get = await http.get(hub.url)
            outside = await http.post(origin + "/hooks/speechless", json={"audio_id": "a"})
            root = await http.post(origin + "/", json={"audio_id": "a"})
            sub = await http.post(hub.url + "/v1/done", json={"audio_id": "sub"})
        assert get.status_code == 405
        assert get.headers["allow"] == "POST"
        assert outside.status_code == 404
        assert root.status_code == 404
        assert sub.status_code == 200
        assert await heard.until(1) == ["sub"]


# -- mounting ---------------------------------------------------------------------------------


def _framework(kind: str, hub: WebhookHub) -> Any:
    if kind == "fastapi mount":
        app = FastAPI()
        app.mount("/hooks/speech", hub.app)
        return app
    if kind == "starlette mount":
        return Starlette(routes=[Mount("/hooks/speech", app=hub.app)])
    if kind == "starlette route":
        return Starlette(routes=[Route("/hooks/speech", hub.app, methods=["POST"])])
    return hub.app


@pytest.mark.parametrize("kind", ["root", "fastapi mount", "starlette mount", "starlette route"])
async def test_served_at_the_root_or_mounted_under_the_path(kind: str) -> None:
    """Served by uvicorn at the root or mounted by a framework, a signed callback gets 200."""
    sock, origin = bind_loopback()
    # Starlette mounts match below the path, so a mounted hub is given the URL with a slash.
    slash = "/" if "mount" in kind else ""
    hub = WebhookHub(origin + "/hooks/speech" + slash, secret="s3cret")
    heard = Heard()
    hub.add_listener(heard)
    with serve_asgi(_framework(kind, hub), sock):
        async with httpx.AsyncClient() as http:
            answer = await http.post(hub.reply_url("r"), json={"audio_id": AUDIO_ID})
            forged = await http.post(hub.url, json={"audio_id": AUDIO_ID})
    assert answer.status_code == 200, answer.text
    assert forged.status_code == 401
    assert await heard.until(1) == [AUDIO_ID]


@pytest.mark.parametrize(
    ("root_path", "path"),
    [
        pytest.param("", "/hooks/speech", id="root"),
        pytest.param("/hooks/speech", "/hooks/speech/", id="asgi mount: path includes root_path"),
        pytest.param("/hooks/speech", "/", id="older mount: path relative to root_path"),
        pytest.param("/api", "/api/hooks/speech", id="server root_path, proxy prefix"),
        pytest.param("/other", "/other", id="mounted elsewhere: the framework routed it"),
    ],
)
async def test_scope_paths_are_read_per_asgi(root_path: str, path: str) -> None:
    """``root_path`` and ``path`` are combined as ASGI servers and frameworks set them."""
    hub = WebhookHub("https://app.example.com/hooks/speech")
    sent: list[dict[str, Any]] = []
    body = [{"type": "http.request", "body": b'{"audio_id": "a"}', "more_body": False}]

    async def receive() -> dict[str, Any]:
        return body.pop(0)

    async def send(message: Any) -> None:
        sent.append(dict(message))

    scope = {
        "type": "http",
        "method": "POST",
        "path": path,
        "root_path": root_path,
        "query_string": b"",
        "headers": [],
    }
    await hub.app(scope, receive, send)
    assert sent[0]["status"] == 200


async def test_lifespan_events_are_accepted_and_not_needed() -> None:
    """The app completes lifespan startup/shutdown when a server sends them, doing nothing."""
    hub = WebhookHub("https://app.example.com/hooks/speech")
    messages = [{"type": "lifespan.startup"}, {"type": "lifespan.shutdown"}]
    sent: list[str] = []

    async def receive() -> dict[str, Any]:
        return messages.pop(0)

    async def send(message: Any) -> None:
        sent.append(message["type"])

    await hub.app({"type": "lifespan"}, receive, send)
    assert sent == ["lifespan.startup.complete", "lifespan.shutdown.complete"]


# -- listeners ----------------------------------------------------------------------------------


async def test_listeners_run_on_their_loop_and_can_be_removed(served_hub: ServeHub) -> None:
    """A listener added inside the event loop runs on its thread; removing it stops delivery."""
    here = threading.get_ident()
    kept, removed = Heard(), Heard()

    def broken(audio_id: str) -> None:
        raise RuntimeError("a broken listener")

    with served_hub() as hub:
        hub.add_listener(broken)
        hub.add_listener(kept)
        remove = hub.add_listener(removed)
        remove()
        remove()  # twice is harmless
        async with httpx.AsyncClient() as http:
            for audio_id in ("a", "b"):
                assert (await http.post(hub.url, json={"audio_id": audio_id})).status_code == 200
        assert await kept.until(2) == ["a", "b"]
        assert kept.threads == {here}  # uvicorn's thread received them; the loop ran the listener
        await anyio.sleep(0.05)
        assert removed.ids == []


def test_a_listener_must_be_callable() -> None:
    """add_listener refuses a non-callable with a TypeError naming the listener."""
    hub = WebhookHub("https://app.example.com/hooks/speech")
    with pytest.raises(TypeError, match="listener"):
        hub.add_listener("not a function")  # type: ignore[arg-type]


async def test_a_hub_without_redis_opens_and_closes() -> None:
    """``async with hub`` without redis_url connects nothing and can be entered again."""
    hub = WebhookHub("https://app.example.com/hooks/speech")
    async with hub:
        assert not hub.redis_connected
        with pytest.raises(RuntimeError, match="already open"):
            await hub.__aenter__()
    async with hub:
        pass
