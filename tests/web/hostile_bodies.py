"""Form bodies that cost the old CSRF form-field lookup (the stdlib email parser) dearly.

Each builder returns ``(content_type, body)`` of about ``size`` bytes; ``benign`` is the same
size as a form a browser sends (a short field and one file), for ratios measured side by side.
"""

from __future__ import annotations

from collections.abc import Callable

BOUNDARY = "b"
MULTIPART = f"multipart/form-data; boundary={BOUNDARY}"


def _part(disposition: str, payload: str = "x", extra_headers: str = "") -> str:
    return f"--{BOUNDARY}\r\nContent-Disposition: {disposition}\r\n{extra_headers}\r\n{payload}\r\n"


def _end() -> str:
    return f"--{BOUNDARY}--\r\n"


def benign(size: int) -> tuple[str, bytes]:
    """A field and one file part filling ``size`` (no CSRF field: the whole body is searched)."""
    head = _part('form-data; name="title"', "holiday") + (
        f"--{BOUNDARY}\r\n"
        'Content-Disposition: form-data; name="photo"; filename="a.jpg"\r\n'
        "Content-Type: image/jpeg\r\n\r\n"
    )
    tail = "\r\n" + _end()
    return MULTIPART, (head + "x" * max(size - len(head) - len(tail), 0) + tail).encode()


def encoded_words_in_a_name(size: int) -> tuple[str, bytes]:
    """One part whose name is RFC 2047 encoded words (super-linear in the email parser)."""
    word = "=?utf-8?q?a?= "
    name = (word * (size // len(word)))[: max(size - 80, 0)]
    return MULTIPART, (_part(f'form-data; name="{name}"') + _end()).encode()


def empty_parts(size: int) -> tuple[str, bytes]:
    """As many empty parts as fit."""
    part = _part('form-data; name=""', "")
    return MULTIPART, (part * (max(size - 20, 0) // len(part)) + _end()).encode()


def many_headers(size: int) -> tuple[str, bytes]:
    """One part with as many header lines as fit."""
    line = "X-Pad: " + "y" * 57 + "\r\n"
    headers = line * (max(size - 100, 0) // len(line))
    return MULTIPART, (_part('form-data; name="a"', "x", headers) + _end()).encode()


def long_header_parts(size: int) -> tuple[str, bytes]:
    """Parts whose Content-Disposition is just under the usual 4 KiB header limit."""
    part = _part(f'form-data; name="{"n" * 3900}"; filename="{"f" * 100}"')
    return MULTIPART, (part * (max(size - 20, 0) // len(part)) + _end()).encode()


def nested_parameter_in_the_content_type(size: int) -> tuple[str, bytes]:
    """The 66-byte header trick of the issue: a parameter of unbalanced comments."""
    return MULTIPART + "; x=" + "(" * 5000, (_part('form-data; name="a"') + _end()).encode()


def nested_parameter_in_a_disposition(size: int) -> tuple[str, bytes]:
    """The same nesting inside a part's Content-Disposition."""
    return MULTIPART, (_part('form-data; name="a"; x=' + "(" * 5000) + _end()).encode()


def urlencoded_empty_fields(size: int) -> tuple[str, bytes]:
    """An urlencoded body of nothing but separators."""
    return "application/x-www-form-urlencoded", b"&" * size


HOSTILE: dict[str, Callable[[int], tuple[str, bytes]]] = {
    "encoded_words_in_a_name": encoded_words_in_a_name,
    "empty_parts": empty_parts,
    "many_headers": many_headers,
    "long_header_parts": long_header_parts,
    "nested_parameter_in_the_content_type": nested_parameter_in_the_content_type,
    "nested_parameter_in_a_disposition": nested_parameter_in_a_disposition,
    "urlencoded_empty_fields": urlencoded_empty_fields,
}
