"""Reading a multipart/form-data body back into its fields, with the standard library."""

from __future__ import annotations

from email.message import EmailMessage
from email.parser import BytesParser
from email.policy import HTTP

__all__ = ["form_fields"]


def form_fields(content_type: str, body: bytes) -> dict[str, str]:
    """The plain fields of a multipart/form-data body; a part with a file name is an error."""
    assert content_type.startswith("multipart/form-data; boundary="), content_type
    message = BytesParser(policy=HTTP).parsebytes(
        b"Content-Type: " + content_type.encode() + b"\r\n\r\n" + body
    )
    assert isinstance(message, EmailMessage)
    assert message.is_multipart()
    fields: dict[str, str] = {}
    for part in message.iter_parts():
        assert isinstance(part, EmailMessage)
        assert part.get_param("filename", header="content-disposition") is None
        name = part.get_param("name", header="content-disposition")
        assert isinstance(name, str)
        assert name not in fields, f"field {name} sent twice"
        payload = part.get_payload(decode=True)
        assert isinstance(payload, bytes)
        fields[name] = payload.decode()
    return fields
