"""The few answers the middlewares give themselves, instead of calling the application."""

from __future__ import annotations

import json
from http import HTTPStatus

from attrs import frozen


@frozen
class Refusal:
    """A complete, small JSON error response: ``{"error": code, "detail": text}``."""

    status: HTTPStatus
    code: str
    detail: str
    headers: tuple[tuple[str, str], ...] = ()

    @property
    def status_line(self) -> str:
        """The WSGI status string, e.g. ``"503 Service Unavailable"``."""
        return f"{self.status.value} {self.status.phrase}"

    @property
    def body(self) -> bytes:
        """The JSON body."""
        return json.dumps({"error": self.code, "detail": self.detail}).encode("utf-8")

    def header_list(self) -> list[tuple[str, str]]:
        """Response headers, content type and length included (no cookie: a refusal never logs out)."""
        return [
            ("Content-Type", "application/json"),
            ("Content-Length", str(len(self.body))),
            ("Cache-Control", "no-store"),
            *self.headers,
        ]


def login_required() -> Refusal:
    """401: the route asked for a session and the request has none."""
    return Refusal(HTTPStatus.UNAUTHORIZED, "login_required", "this page needs a logged-in session")


def csrf_token_invalid() -> Refusal:
    """403: an unsafe request of a session did not echo its CSRF token."""
    return Refusal(
        HTTPStatus.FORBIDDEN,
        "csrf_token_invalid",
        "missing or wrong CSRF token: send the session's token in the header or form field",
    )


def form_unreadable(reason: str) -> Refusal:
    """400: the CSRF token was to come from the form body, which cannot be searched."""
    return Refusal(
        HTTPStatus.BAD_REQUEST,
        "form_unreadable",
        f"{reason}; send the session's CSRF token in the header instead",
    )


def cross_origin_request() -> Refusal:
    """403: the browser says an unsafe request comes from another origin (Origin, Sec-Fetch-Site)."""
    return Refusal(
        HTTPStatus.FORBIDDEN,
        "cross_origin_request",
        "unsafe requests from another origin are refused (Origin / Sec-Fetch-Site)",
    )


def platform_not_found() -> Refusal:
    """404: the override header names no platform of this user (also another user's)."""
    return Refusal(HTTPStatus.NOT_FOUND, "platform_not_found", "no such platform connection for this session")


def platform_inactive() -> Refusal:
    """403: the override header names a platform of this user that is deactivated."""
    return Refusal(HTTPStatus.FORBIDDEN, "platform_inactive", "this platform connection is deactivated")


def store_unavailable() -> Refusal:
    """503: the session store could not answer; the cookie stays, nobody is logged out."""
    return Refusal(
        HTTPStatus.SERVICE_UNAVAILABLE,
        "session_store_unavailable",
        "the session store is unavailable; try again shortly",
        headers=(("Retry-After", "2"),),
    )
