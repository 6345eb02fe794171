"""The ``pixverse-speech`` command-line tool (also ``python -m pixverse_speech``)."""

from __future__ import annotations

from ._main import main

__all__ = ["main"]
