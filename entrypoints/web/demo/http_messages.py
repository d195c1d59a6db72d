"""Just enough HTTP for the demo's plain WSGI handlers: a request reader and responses."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from functools import cached_property
from http import HTTPStatus
from urllib.parse import parse_qs
from wsgiref.types import WSGIEnvironment

from attrs import frozen

from platform_sessions.entrypoints.web.refusals import Refusal

MAX_BODY = 64 * 1024


class Request:
    """The parts of a WSGI request the demo reads."""

    def __init__(self, environ: WSGIEnvironment) -> None:
        self.environ = environ
        self.method: str = environ.get("REQUEST_METHOD", "GET").upper()
        self.path: str = environ.get("PATH_INFO", "/") or "/"

    @cached_property
    def query(self) -> Mapping[str, str]:
        """The query string's first values."""
        parsed = parse_qs(self.environ.get("QUERY_STRING", ""))
        return {key: values[0] for key, values in parsed.items()}

    @cached_property
    def body(self) -> bytes:
        """The request body (at most 64 KiB: the demo's forms are tiny)."""
        try:
            length = min(int(self.environ.get("CONTENT_LENGTH") or 0), MAX_BODY)
        except ValueError:
            return b""
        return self.environ["wsgi.input"].read(length) if length > 0 else b""

    @cached_property
    def form(self) -> Mapping[str, str]:
        """An urlencoded form body's first values."""
        parsed = parse_qs(self.body.decode("utf-8", "replace"), keep_blank_values=True)
        return {key: values[0] for key, values in parsed.items()}

    def json(self) -> Mapping[str, object]:
        """A JSON object body, or an empty mapping."""
        try:
            value = json.loads(self.body or b"{}")
        except ValueError:
            return {}
        return value if isinstance(value, dict) else {}


@frozen
class Response:
    """A status, headers and a body (bytes, or an iterable of chunks for a stream)."""

    status: HTTPStatus
    body: Iterable[bytes]
    headers: tuple[tuple[str, str], ...] = ()

    @property
    def status_line(self) -> str:
        """The WSGI status string."""
        return f"{self.status.value} {self.status.phrase}"


_NO_STORE = ("Cache-Control", "no-store")


def html(page: str, status: HTTPStatus = HTTPStatus.OK) -> Response:
    """An HTML page."""
    body = page.encode("utf-8")
    return Response(
        status,
        [body],
        (("Content-Type", "text/html; charset=utf-8"), ("Content-Length", str(len(body))), _NO_STORE),
    )


def json_response(data: object, status: HTTPStatus = HTTPStatus.OK) -> Response:
    """A JSON document."""
    body = json.dumps(data).encode("utf-8")
    return Response(
        status,
        [body],
        (("Content-Type", "application/json"), ("Content-Length", str(len(body))), _NO_STORE),
    )


def error_json(status: HTTPStatus, code: str, detail: str) -> Response:
    """A JSON error in the same shape as the middleware's refusals."""
    return json_response({"error": code, "detail": detail}, status)


def refusal_response(refusal: Refusal) -> Response:
    """One of the middleware's refusals, answered by a handler."""
    return Response(refusal.status, [refusal.body], tuple(refusal.header_list()))


def redirect(location: str) -> Response:
    """303 See Other: after a form post, the browser GETs ``location``."""
    return Response(HTTPStatus.SEE_OTHER, [b""], (("Location", location), ("Content-Length", "0"), _NO_STORE))


def not_found() -> Response:
    """404 for unknown paths."""
    return error_json(HTTPStatus.NOT_FOUND, "not_found", "no such page")
