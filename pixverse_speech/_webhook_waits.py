"""What a client made with ``webhooks=hub`` does differently: reply URLs, schedule, nudges.

INTERIM: written against the per-id wait loop of ``_client.py`` while the wait engine (issue 9)
was not there yet.  :class:`Nudges` wakes a wait's sleep so that its next poll happens at once;
the engine's own ``nudge`` replaces it, and the rest of this module (reply URLs, the fallback
schedule, the listener's life) stays.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

import anyio

from . import _timing
from ._polling import PollSchedule
from .webhooks import WebhookHub

__all__ = ["Nudges", "WaitNudge", "check_hub", "fallback_schedule", "reply_url_for"]


def check_hub(webhooks: object) -> WebhookHub | None:
    """``webhooks`` if it is a :class:`WebhookHub` or ``None``, else a ``TypeError``."""
    if webhooks is None or isinstance(webhooks, WebhookHub):
        return webhooks
    raise TypeError(f"webhooks must be a WebhookHub, got {type(webhooks).__name__}")


def reply_url_for(hub: WebhookHub | None, reply_url: object, reply_ref: object) -> object:
    """The ``reply_url`` a create sends: the caller's own, else the hub's for ``reply_ref``."""
    if hub is None or reply_url is not None:
        return reply_url
    if reply_ref is not None and not isinstance(reply_ref, str):
        return reply_url  # the create's own check names reply_ref
    return hub.reply_url(reply_ref)


def fallback_schedule(hub: WebhookHub) -> PollSchedule:
    """The first poll at once, then one every ``fallback_poll_interval`` (jittered down 10 %)."""
    interval = hub.fallback_poll_interval
    return PollSchedule(initial=interval, maximum=interval, multiplier=1.0)


class WaitNudge:
    """One wait's side of a nudge: its sleep between polls ends early when nudged."""

    __slots__ = ("_again", "_scope")

    def __init__(self) -> None:
        self._scope: anyio.CancelScope | None = None
        self._again = False

    def polling(self) -> None:
        """A poll starts: it answers every nudge so far."""
        self._again = False

    async def sleep(self, seconds: float) -> None:
        """The pause before the next poll; none when a nudge came during the last poll."""
        if self._again:
            # The callback came while a poll was in flight, which may have read the job just
            # before it ended: confirm once more, now.
            self._again = False
            return
        with anyio.CancelScope() as scope:
            self._scope = scope
            try:
                await _timing.current().sleep(seconds)
            finally:
                self._scope = None

    def nudge(self) -> None:
        if self._scope is not None:
            self._scope.cancel()
        else:
            self._again = True


class Nudges:
    """A client's waits by id; :meth:`nudge` makes each of the id's waits poll now.

    At most one poll per wait is in flight: a nudge during one only asks for another after it,
    so a burst of duplicate callbacks costs one confirming GET (two when the first was already in
    flight and found the job unfinished).  Called on the client's event loop thread.
    """

    def __init__(self) -> None:
        self._waits: dict[str, set[WaitNudge]] = {}

    def nudge(self, audio_id: str) -> None:
        for wait in list(self._waits.get(audio_id, ())):
            wait.nudge()

    @contextmanager
    def watching(self, audio_id: str) -> Iterator[WaitNudge]:
        wait = WaitNudge()
        self._waits.setdefault(audio_id, set()).add(wait)
        try:
            yield wait
        finally:
            waits = self._waits.get(audio_id)
            if waits is not None:
                waits.discard(wait)
                if not waits:
                    del self._waits[audio_id]


class HubListener:
    """A client's registration with its hub: made on the event loop, undone by ``aclose()``."""

    __slots__ = ("_hub", "_nudge", "_remove")

    def __init__(self, hub: WebhookHub, nudge: Callable[[str], None]) -> None:
        self._hub = hub
        self._nudge = nudge
        self._remove: Callable[[], None] | None = None

    def start(self) -> None:
        """Listen, once; call it on the client's event loop (the hub calls back on it)."""
        if self._remove is None:
            self._remove = self._hub.add_listener(self._nudge)

    def stop(self) -> None:
        if self._remove is not None:
            self._remove()
            self._remove = None
