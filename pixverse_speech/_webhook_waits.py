"""What a client made with ``webhooks=hub`` does differently: reply URLs, schedule, listening.

The waiting itself is the wait engine's (``_engine``): the hub's listener calls
``WaitEngine.nudge``, and the engine's ``default_schedule`` becomes the hub's fallback one.
"""

from __future__ import annotations

from collections.abc import Callable

from ._polling import PollSchedule
from .webhooks import WebhookHub
from .webhooks._listeners import in_event_loop

__all__ = ["HubListener", "check_hub", "fallback_schedule", "reply_url_for"]


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


class HubListener:
    """A client's registration with its hub: made on the event loop, undone by ``aclose()``."""

    __slots__ = ("_hub", "_nudge", "_remove")

    def __init__(self, hub: WebhookHub, nudge: Callable[[str], None]) -> None:
        self._hub = hub
        self._nudge = nudge
        self._remove: Callable[[], None] | None = None

    def start(self) -> None:
        """Listen, once, from inside the client's event loop (the hub calls back on that loop).

        Outside any event loop it does nothing: the hub would call the engine from a foreign
        thread.  The client calls it again at each wait.
        """
        if self._remove is None and in_event_loop():
            self._remove = self._hub.add_listener(self._nudge)

    def stop(self) -> None:
        if self._remove is not None:
            self._remove()
            self._remove = None
