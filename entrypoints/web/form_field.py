"""Finding one field in a buffered form body, for the CSRF token of plain HTML forms."""

from __future__ import annotations

from email.message import Message
from email.parser import BytesParser
from email.policy import HTTP
from urllib.parse import parse_qs

URLENCODED = "application/x-www-form-urlencoded"
MULTIPART = "multipart/form-data"


def is_form(content_type: str | None) -> bool:
    """Whether a body of this content type can carry a form field."""
    media_type = (content_type or "").split(";", 1)[0].strip().lower()
    return media_type in (URLENCODED, MULTIPART)


def form_field(content_type: str | None, body: bytes, name: str) -> str | None:
    """The first value of field ``name`` in a form body, or ``None``."""
    media_type = (content_type or "").split(";", 1)[0].strip().lower()
    if media_type == URLENCODED:
        values = parse_qs(body.decode("latin-1"), keep_blank_values=True).get(name)
        return values[0] if values else None
    if media_type == MULTIPART and content_type is not None:
        return _multipart_field(content_type, body, name)
    return None


def _multipart_field(content_type: str, body: bytes, name: str) -> str | None:
    # The stdlib email parser reads multipart bodies; prepend the header it needs.
    head = f"Content-Type: {content_type}\r\n\r\n".encode("latin-1", "replace")
    message = BytesParser(policy=HTTP).parsebytes(head + body)
    if not message.is_multipart():
        return None
    for part in message.iter_parts():
        if isinstance(part, Message) and part.get_param("name", header="content-disposition") == name:
            payload = part.get_payload(decode=True)
            return payload.decode("utf-8", "replace") if isinstance(payload, bytes) else None
    return None
