"""MkDocs hook: small rendering fixes, applied at build time without touching any source.

* The library's docstrings use Sphinx roles (``:class:`Speech```, ``:meth:`create```), which
  mkdocstrings leaves as literal text before the code span.  Each role is dropped and the code
  span becomes an *optional* cross-reference: a link when the name is a documented object of
  ``pixverse_speech``, plain code otherwise (never a strict-mode warning).
* Source tags written as ``[N]``, ``[L]`` or ``[R]`` (docs/fake-api.md cites the upstream notes
  that way) would be read by Markdown as reference links, ``[N][L]`` as a link to ``L``: they are
  escaped so that they render as the bracketed letters they are.
"""

from __future__ import annotations

import re
from typing import Any

# `:class:<code>Speech</code>` as Python-Markdown renders ":class:`Speech`".
_ROLE = re.compile(
    r":(?:py:)?(?:class|meth|func|attr|data|exc|mod|obj):<code>(?P<tilde>~?)(?P<name>[\w.]+)"
    r"(?P<call>\(\))?</code>"
)
# `[N]` not followed by "(" or ":" (an inline link or a link definition), outside code.
_SOURCE_TAG = re.compile(r"(?<![\\\w])\[(?P<tag>[NLR])\](?![(:])")

_PACKAGE = "pixverse_speech"
_CLIENT = f"{_PACKAGE}.AsyncSpeechAPI"


def _identifier(name: str, role_is_method: bool) -> str:
    """The object a role most likely means: package-level names, and the client's methods."""
    if "." in name:
        # `httpx.Response` names another package; `AsyncSpeechAPI.create` one of ours.
        return name if name[0].islower() else f"{_PACKAGE}.{name}"
    if role_is_method:
        return f"{_CLIENT}.{name}"
    return f"{_PACKAGE}.{name}"


def _link_role(match: re.Match[str]) -> str:
    name = match["name"]
    shown = name.rsplit(".", 1)[-1] if match["tilde"] else name
    is_method = match.group(0).startswith((":meth:", ":py:meth:"))
    shown += match["call"] or ("()" if is_method else "")
    identifier = _identifier(name, is_method)
    return f'<autoref identifier="{identifier}" optional><code>{shown}</code></autoref>'


def _escape_source_tags(markdown: str) -> str:
    """Escape ``[N]``/``[L]``/``[R]`` outside fenced blocks and inline code."""
    parts = re.split(r"(^```.*?^```[ \t]*$)", markdown, flags=re.MULTILINE | re.DOTALL)
    for index in range(0, len(parts), 2):  # even parts are outside fences
        pieces = re.split(r"(`+[^`\n]*`+)", parts[index])
        for j in range(0, len(pieces), 2):  # even pieces are outside inline code
            pieces[j] = _SOURCE_TAG.sub(lambda m: rf"\[{m['tag']}\]", pieces[j])
        parts[index] = "".join(pieces)
    return "".join(parts)


def on_page_markdown(markdown: str, **kwargs: Any) -> str:
    """Escape upstream source tags before Markdown reads them as reference links."""
    return _escape_source_tags(markdown)


def on_page_content(html: str, **kwargs: Any) -> str:
    """Turn Sphinx roles left in rendered docstrings into optional cross-references."""
    return _ROLE.sub(_link_role, html)
