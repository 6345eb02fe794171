"""A client belongs to the event loop that first uses it."""

from __future__ import annotations

from anyio.lowlevel import RunVar

__all__ = ["LoopBinding"]


class LoopBinding:
    """Remembers the first event loop (asyncio loop or trio run) it is checked in.

    A :class:`~anyio.lowlevel.RunVar` holds a value per loop run: set in the first one, it is
    unset in any other, which is how another loop is told apart, at the cost of a dict lookup.
    """

    def __init__(self) -> None:
        self._here: RunVar[bool] = RunVar("pixverse_speech.client", default=False)
        self._bound = False

    def check(self) -> None:
        if self._here.get():
            return
        if self._bound:
            raise RuntimeError(
                "this AsyncSpeechAPI belongs to the event loop that first used it and cannot be "
                "used from another one; create one client per event loop (per asyncio.run() or "
                "trio.run())"
            )
        self._here.set(True)
        self._bound = True
