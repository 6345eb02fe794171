"""``python -m pixverse_speech``: the command-line tool."""

from __future__ import annotations

from ._cli import main

raise SystemExit(main())
