"""Request bodies: JSON objects, urlencoded forms and multipart/form-data, with the stdlib only."""

from __future__ import annotations

import json
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from typing import Any
from urllib.parse import parse_qsl

__all__ = ["BodyError", "parse_body"]


class BodyError(ValueError):
    """The body could not be read as the content type it claims."""


def parse_body(content_type: str | None, body: bytes) -> dict[str, Any] | None:
    """The fields of ``body``; ``None`` for an empty body.  Form values are strings."""
    if not body:
        return None
    media_type = (content_type or "").split(";", 1)[0].strip().lower()
    if media_type == "application/json" or media_type.endswith("+json"):
        return _parse_json(body)
    if media_type == "application/x-www-form-urlencoded":
        return _parse_urlencoded(body)
    if media_type == "multipart/form-data":
        return _parse_multipart(content_type or "", body)
    if not media_type:
        # No content type: accept a JSON object, as lenient servers do.
        return _parse_json(body)
    raise BodyError(f"Unsupported content type {media_type!r}")


def _parse_json(body: bytes) -> dict[str, Any]:
    try:
        value = json.loads(body)
    except (ValueError, UnicodeDecodeError) as exc:
        raise BodyError(f"Request body is not valid JSON: {exc}") from None
    if not isinstance(value, dict):
        raise BodyError("Request body must be a JSON object")
    return value


def _parse_urlencoded(body: bytes) -> dict[str, Any]:
    try:
        text = body.decode("utf-8")
        return dict(parse_qsl(text, keep_blank_values=True, strict_parsing=True))
    except (UnicodeDecodeError, ValueError) as exc:
        raise BodyError(f"Request body is not a valid urlencoded form: {exc}") from None


def _parse_multipart(content_type: str, body: bytes) -> dict[str, Any]:
    head = f"MIME-Version: 1.0\r\nContent-Type: {content_type}\r\n\r\n".encode("latin-1", "replace")
    message = BytesParser(policy=policy.HTTP).parsebytes(head + body)
    if not isinstance(message, EmailMessage) or not message.is_multipart():
        raise BodyError("Request body is not valid multipart/form-data")
    if message.defects:
        raise BodyError(f"Request body is not valid multipart/form-data: {message.defects[0]}")
    fields: dict[str, Any] = {}
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        if not isinstance(name, str):
            raise BodyError("A multipart part has no name")
        payload = part.get_payload(decode=True)
        if not isinstance(payload, bytes):
            raise BodyError(f"Multipart field {name!r} has no content")
        charset = part.get_content_charset() or "utf-8"
        try:
            fields[name] = payload.decode(charset)
        except (LookupError, UnicodeDecodeError) as exc:
            raise BodyError(f"Multipart field {name!r} is not valid {charset}: {exc}") from None
    return fields
