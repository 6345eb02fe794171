"""The in-process listeners of a hub: who hears of each callback's ``audio_id``.

A callback can arrive on any thread: the ASGI server's, the Redis link's, a test's.  A listener
registered from inside an event loop (asyncio or trio) is always called on that loop's thread,
scheduled with the loop's thread-safe ``call_soon``; one registered outside any loop is called
on whatever thread delivers.  Either way delivery never blocks and never waits for the listener.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import sys
import threading
from collections.abc import Callable

__all__ = ["Listener", "ListenerRegistry", "in_event_loop"]

logger = logging.getLogger("pixverse_speech.webhooks")

#: Called with the ``audio_id`` of every callback the hub hears of.  It must not block.
Listener = Callable[[str], None]

_Schedule = Callable[[Callable[[], object]], object]


def _current_loop_scheduler() -> _Schedule | None:
    """A thread-safe "call soon" for the event loop running on this thread, if there is one."""
    try:
        loop = asyncio.get_running_loop()
    except RuntimeError:
        pass
    else:
        return loop.call_soon_threadsafe
    trio = sys.modules.get("trio")  # only when the app already uses trio: never import it here
    if trio is not None:
        try:
            token = trio.lowlevel.current_trio_token()
        except RuntimeError:
            return None
        schedule: _Schedule = token.run_sync_soon
        return schedule
    return None


def in_event_loop() -> bool:
    """Whether an asyncio or trio event loop runs on this thread."""
    return _current_loop_scheduler() is not None


class _Entry:
    __slots__ = ("fn", "schedule", "thread")

    def __init__(self, fn: Listener, schedule: _Schedule | None, thread: int) -> None:
        self.fn = fn
        self.schedule = schedule
        self.thread = thread


class ListenerRegistry:
    """A thread-safe set of listeners; :meth:`deliver` hands an id to each of them."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._entries: dict[int, _Entry] = {}
        self._next = 0

    def __len__(self) -> int:
        with self._lock:
            return len(self._entries)

    def add(self, fn: Listener) -> Callable[[], None]:
        """Register ``fn``; returns a function that unregisters it (safe to call twice)."""
        if not callable(fn):
            raise TypeError(f"listener must be callable, got {type(fn).__name__}")
        entry = _Entry(fn, _current_loop_scheduler(), threading.get_ident())
        with self._lock:
            key = self._next
            self._next += 1
            self._entries[key] = entry

        def remove() -> None:
            with self._lock:
                self._entries.pop(key, None)

        return remove

    def deliver(self, audio_id: str) -> None:
        """Hand ``audio_id`` to every listener, each on its own loop's thread."""
        with self._lock:
            entries = list(self._entries.items())
        here = threading.get_ident()
        for key, entry in entries:
            if entry.schedule is None or entry.thread == here:
                _call(entry.fn, audio_id)
                continue
            try:
                entry.schedule(functools.partial(_call, entry.fn, audio_id))
            except RuntimeError:
                # Its loop has closed without unregistering: nobody can be waiting there.
                with self._lock:
                    self._entries.pop(key, None)


def _call(fn: Listener, audio_id: str) -> None:
    try:
        fn(audio_id)
    except Exception:
        # One broken listener must not keep the id from the others, nor fail the callback.
        logger.exception("a webhook listener failed on %s", audio_id)
