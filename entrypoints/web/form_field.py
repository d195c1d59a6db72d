"""Finding one field in a buffered form body, for the CSRF token of plain HTML forms.

The lookup runs before the CSRF check refuses a request, so anyone with a session (or none:
login forms) can make the middleware parse whatever they send. Every step therefore costs
time linear in the body, with limits that stop a hostile body early:

- ``multipart/form-data`` is read with the ``multipart`` package's push parser (sans-I/O,
  pure Python, explicit limits on header size, header count and part count; it is what
  Bottle uses). Chosen over ``python-multipart`` (Starlette's) because its limits cover
  everything this lookup must bound and its header-parameter parser is one regular
  expression over a header already capped in size, with no recursion and no RFC 2047 or
  RFC 2231 decoding. Parts are never descended into: a nested ``multipart/mixed`` part is
  an opaque payload, so there is no nesting to bound.
- ``application/x-www-form-urlencoded`` is read with :func:`urllib.parse.parse_qsl` and
  ``max_num_fields`` (checked by counting separators before any parsing).
- The ``Content-Type`` parameters (the boundary) go through the same bounded parser, after a
  size check. Never the standard library's ``email`` package: its header parser recurses on
  nested comments (a ``RecursionError``) and is super-linear on encoded words.

The parser is imported only when a multipart body is looked at. The body itself is never
changed: the middlewares hand the application the bytes they buffered.
"""

from __future__ import annotations

from urllib.parse import parse_qsl

from attrs import frozen

URLENCODED = "application/x-www-form-urlencoded"
MULTIPART = "multipart/form-data"

# A Content-Type header longer than this is no browser's (a boundary is at most 70 characters,
# RFC 2046 5.1.1; browsers send about 70 bytes in all).
MAX_CONTENT_TYPE = 1024
MAX_BOUNDARY = 200
# The longest value taken for the field: a CSRF token is 43 characters.
MAX_FIELD_VALUE = 1024
# Slices fed to the push parser: each step's work is bounded by the slice, not the body.
SLICE = 64 * 1024


class FormUnreadable(ValueError):
    """The body cannot be searched for the field: malformed, or beyond a limit.

    ``reason`` is a short text of ours (never a parser's message) for the 400 answer.
    """

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@frozen
class FormLimits:
    """How much of a form body the lookup will look at before it gives up with a 400."""

    max_parts: int = 1000
    max_header_size: int = 4096
    max_headers_per_part: int = 8
    max_urlencoded_fields: int = 1000


def media_type(content_type: str | None) -> str:
    """The lowercase media type of a ``Content-Type`` value, without its parameters."""
    return (content_type or "").split(";", 1)[0].strip().lower()


def is_form(content_type: str | None) -> bool:
    """Whether a body of this content type can carry a form field."""
    return media_type(content_type) in (URLENCODED, MULTIPART)


def form_field(
    content_type: str | None, body: bytes, name: str, limits: FormLimits | None = None
) -> str | None:
    """The first value of field ``name`` in a form body, or ``None`` if it has none.

    Raises :class:`FormUnreadable` when the body is malformed or exceeds ``limits``.
    """
    limits = limits or FormLimits()
    kind = media_type(content_type)
    if kind == URLENCODED:
        return _urlencoded_field(body, name, limits)
    if kind == MULTIPART and content_type is not None:
        return _multipart_field(content_type, body, name, limits)
    return None


def _urlencoded_field(body: bytes, name: str, limits: FormLimits) -> str | None:
    try:
        pairs = parse_qsl(body, keep_blank_values=True, max_num_fields=limits.max_urlencoded_fields)
    except ValueError:
        raise FormUnreadable("the form has too many fields to search") from None
    wanted = name.encode("ascii")
    for key, value in pairs:
        if key == wanted:
            return _as_text(value)
    return None


def _boundary(content_type: str) -> str:
    from multipart import parse_options_header  # type: ignore[import-untyped]

    if len(content_type) > MAX_CONTENT_TYPE:
        raise FormUnreadable("the Content-Type header is too long")
    _, options = parse_options_header(content_type)
    boundary = options.get("boundary")
    if not isinstance(boundary, str) or not boundary or len(boundary) > MAX_BOUNDARY:
        raise FormUnreadable("the multipart boundary is missing or invalid")
    return boundary


def _multipart_field(content_type: str, body: bytes, name: str, limits: FormLimits) -> str | None:
    from multipart import MultipartError, MultipartSegment, PushMultipartParser

    boundary = _boundary(content_type)
    try:
        parser = PushMultipartParser(
            boundary,
            content_length=len(body),
            max_header_size=limits.max_header_size,
            max_header_count=limits.max_headers_per_part,
            max_segment_count=limits.max_parts,
            header_charset="latin-1",  # any bytes decode: a header is looked at, not trusted
        )
        in_field = False
        value = bytearray()
        for start in range(0, len(body), SLICE):
            for event in parser.parse(body[start : start + SLICE]):
                if isinstance(event, MultipartSegment):
                    in_field = event.name == name
                elif event is None:
                    if in_field:  # the field is complete: the rest of the body is the app's
                        return _as_text(bytes(value))
                elif in_field:
                    value += event
                    if len(value) > MAX_FIELD_VALUE:
                        return None  # longer than any token: it cannot match
    except MultipartError:
        raise FormUnreadable("the multipart body is malformed or exceeds a limit") from None
    return None


def _as_text(value: bytes) -> str | None:
    if len(value) > MAX_FIELD_VALUE:
        return None
    return value.decode("utf-8", "replace")
