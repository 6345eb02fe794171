"""Signed reply URLs: an HMAC-SHA256 over the hub's path and the ``reply_ref``.

The API does not sign its callbacks, so the hub signs the URL it hands out instead: a callback
that does not carry the signature of a URL the hub issued is refused before anything else
happens.  The signature covers the path (a URL signed for one hub is no good at another that
shares the secret) and ``reply_ref`` (which travels in the query because the callback body, a job
record, does not carry it).
"""

from __future__ import annotations

import hashlib
import hmac
from urllib.parse import parse_qs

__all__ = ["REF_PARAM", "SIG_PARAM", "Signer", "read_query"]

#: The query parameters of a reply URL.
REF_PARAM = "ref"
SIG_PARAM = "sig"

# A version tag, so that a later scheme can never accept an old signature by accident.
_DOMAIN = b"pixverse_speech.webhooks.v1\n"


class Signer:
    """Signs and checks (path, reply_ref) pairs with one secret."""

    __slots__ = ("_key",)

    def __init__(self, secret: bytes) -> None:
        self._key = secret

    def __repr__(self) -> str:
        return "Signer(<secret>)"

    def sign(self, path: str, reply_ref: str | None) -> str:
        """The hex signature of ``path`` and ``reply_ref`` (``None`` differs from ``""``)."""
        ref = b"-" if reply_ref is None else b"=" + reply_ref.encode()
        message = _DOMAIN + path.encode() + b"\n" + ref
        return hmac.new(self._key, message, hashlib.sha256).hexdigest()

    def verify(self, path: str, reply_ref: str | None, signature: str | None) -> bool:
        """Whether ``signature`` is the one :meth:`sign` gives, compared in constant time."""
        if signature is None:
            return False
        expected = self.sign(path, reply_ref)
        return hmac.compare_digest(expected.encode(), signature.encode("utf-8", "replace"))


def read_query(query_string: bytes) -> tuple[str | None, str | None, bool]:
    """``(reply_ref, signature, ambiguous)`` of a callback's query string.

    ``ambiguous`` is true when either parameter appears more than once: which one counts would be
    up to the parser, so such a callback is treated as unsigned.
    """
    try:
        text = query_string.decode("ascii")
    except UnicodeDecodeError:
        return None, None, True
    try:
        params = parse_qs(text, keep_blank_values=True, errors="strict")
    except ValueError:  # bad percent-encoding of UTF-8
        return None, None, True
    refs = params.get(REF_PARAM, [])
    sigs = params.get(SIG_PARAM, [])
    ambiguous = len(refs) > 1 or len(sigs) > 1
    return (refs[0] if refs else None), (sigs[0] if sigs else None), ambiguous
