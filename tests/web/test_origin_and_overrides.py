"""Defence in depth: the origin check (login CSRF included) and method overrides.

Driven with raw environs and scopes, so the headers are exactly those a browser would send.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

import pytest

from platform_sessions.domain.errors import InvalidInput
from platform_sessions.entrypoints import PlatformSessions
from platform_sessions.entrypoints.web import AsgiSessionMiddleware, SessionMiddleware, WebSettings
from platform_sessions.entrypoints.web.csrf import (
    cross_origin,
    normalized_origin,
    same_origin_vouched,
    trusted_origin,
)
from tests.web.neutral_apps import asgi_app, wsgi_app
from tests.web.raw_calls import HOST, asgi_status, login, wsgi_status

SELF = f"https://{HOST}"


def both(
    sessions: PlatformSessions,
    method: str,
    headers: Sequence[tuple[str, str]],
    *,
    settings: WebSettings | None = None,
    query: str = "",
) -> tuple[int, int]:
    """The statuses the WSGI and the ASGI middleware answer the same request with."""
    wsgi = wsgi_status(SessionMiddleware(wsgi_app, sessions, settings=settings), method, headers, query=query)
    raw = [(name.lower().encode(), value.encode()) for name, value in headers]
    asgi = asyncio.run(
        asgi_status(
            AsgiSessionMiddleware(asgi_app, sessions, settings=settings), method, raw, query=query.encode()
        )
    )
    return wsgi, asgi


@pytest.mark.parametrize(
    ("headers", "status"),
    [
        ([("Sec-Fetch-Site", "cross-site"), ("Origin", "https://evil.example")], 403),
        ([("Sec-Fetch-Site", "same-site"), ("Origin", "https://other.app.example")], 403),
        ([("Origin", "https://evil.example")], 403),  # an older browser: Origin only
        ([("Origin", "null")], 403),  # a sandboxed frame
        ([("Origin", "http://app.example")], 403),  # plain HTTP page: not the Secure origin
        ([("Sec-Fetch-Site", "same-origin"), ("Origin", SELF)], 200),
        ([("Sec-Fetch-Site", "none")], 200),  # typed in the address bar
        ([("Origin", SELF)], 200),
        ([("Origin", "https://APP.example:443")], 200),  # the same origin, spelled otherwise
        ([], 200),  # no browser: nothing learnt, and an anonymous request has no token to check
    ],
)
def test_an_anonymous_login_post_is_refused_when_the_browser_says_it_is_cross_origin(
    sessions: PlatformSessions, headers: list[tuple[str, str]], status: int
) -> None:
    assert both(sessions, "POST", headers) == (status, status)


def test_a_cross_origin_request_of_a_session_is_refused_even_with_its_token(
    sessions: PlatformSessions,
) -> None:
    session = login(sessions)
    token = ("X-CSRF-Token", session.csrf_token)
    cookie = ("Cookie", session.cookie)
    assert both(sessions, "POST", [cookie, token, ("Sec-Fetch-Site", "cross-site")]) == (403, 403)
    assert both(sessions, "POST", [cookie, token, ("Sec-Fetch-Site", "same-origin")]) == (200, 200)
    # The origin check adds to the token rule, it never replaces it:
    assert both(sessions, "POST", [cookie, ("Sec-Fetch-Site", "same-origin")]) == (403, 403)
    assert both(sessions, "GET", [cookie, ("Sec-Fetch-Site", "cross-site")]) == (200, 200)


def test_trusted_origins_may_send_unsafe_requests(sessions: PlatformSessions) -> None:
    settings = WebSettings(trusted_origins=["https://admin.example", "https://*.corp.example"])
    for origin, status in [
        ("https://admin.example", 200),
        ("https://a.corp.example", 200),
        ("https://a.b.corp.example", 200),
        ("https://corp.example", 403),  # a wildcard is for subdomains only, as in Django
        ("http://a.corp.example", 403),
        ("https://evilcorp.example", 403),
    ]:
        headers = [("Sec-Fetch-Site", "cross-site"), ("Origin", origin)]
        assert both(sessions, "POST", headers, settings=settings) == (status, status), origin


def test_the_origin_check_can_be_turned_off(sessions: PlatformSessions) -> None:
    settings = WebSettings(check_origin=False)
    assert both(sessions, "POST", [("Sec-Fetch-Site", "cross-site")], settings=settings) == (200, 200)


def test_a_plain_http_server_compares_with_its_own_scheme(sessions: PlatformSessions) -> None:
    settings = WebSettings(secure=False)
    # The raw calls say https; a plain-HTTP server's own origin takes the request's scheme.
    assert both(sessions, "POST", [("Origin", SELF)], settings=settings) == (200, 200)
    assert both(sessions, "POST", [("Origin", "http://app.example")], settings=settings) == (403, 403)


def test_exempt_routes_skip_the_origin_check_too(sessions: PlatformSessions) -> None:
    headers = [("Sec-Fetch-Site", "cross-site"), ("Origin", "https://payments.example")]
    wsgi = SessionMiddleware(wsgi_app, sessions, csrf_exempt_paths={"/change"})
    assert wsgi_status(wsgi, "POST", headers) == 200


@pytest.mark.parametrize(
    ("header", "query"),
    [
        (("X-HTTP-Method-Override", "DELETE"), ""),
        (("X-HTTP-Method", "PUT"), ""),
        (("X-Method-Override", "patch"), ""),
        (None, "_method=DELETE"),
        (None, "a=1&_method=post"),
    ],
)
def test_a_safe_method_carrying_an_unsafe_override_is_checked_as_the_override(
    sessions: PlatformSessions, header: tuple[str, str] | None, query: str
) -> None:
    session = login(sessions)
    headers = [("Cookie", session.cookie), *([header] if header else [])]
    assert both(sessions, "GET", headers, query=query) == (403, 403)
    with_token = [*headers, ("X-CSRF-Token", session.csrf_token)]
    assert both(sessions, "GET", with_token, query=query) == (200, 200)
    cross = [*with_token, ("Sec-Fetch-Site", "cross-site")]
    assert both(sessions, "GET", cross, query=query) == (403, 403)


def test_a_safe_override_or_an_empty_one_changes_nothing(sessions: PlatformSessions) -> None:
    session = login(sessions)
    cookie = ("Cookie", session.cookie)
    assert both(sessions, "GET", [cookie, ("X-HTTP-Method-Override", "HEAD")]) == (200, 200)
    assert both(sessions, "GET", [cookie, ("X-HTTP-Method-Override", "")]) == (200, 200)
    assert both(sessions, "GET", [cookie], query="_method=GET&x=_method") == (200, 200)


def test_origins_are_normalized_and_garbage_is_no_origin() -> None:
    assert normalized_origin("HTTPS://App.Example:443") == "https://app.example"
    assert normalized_origin("http://127.0.0.1:8000") == "http://127.0.0.1:8000"
    assert normalized_origin("https://[::1]") == "https://[::1]"
    assert normalized_origin("https://[::1]:8443") == "https://[::1]:8443"
    for garbage in [
        "null",
        "",
        "https://",
        "ftp://x",
        "https://a/b",
        "https://u@a",
        "https://a:x",
        "x" * 5000,
    ]:
        assert normalized_origin(garbage) is None, garbage


def test_trusted_origins_are_checked_when_the_settings_are_made() -> None:
    assert trusted_origin("https://*.Example.com") == "https://*.example.com"
    for bad in ["example.com", "https://a.example/path", "https://a*.example", "*"]:
        with pytest.raises(InvalidInput):
            trusted_origin(bad)
    with pytest.raises(InvalidInput):
        WebSettings(trusted_origins="https://a.example")  # type: ignore[arg-type]


def test_an_unknown_fetch_site_falls_back_to_the_origin() -> None:
    assert cross_origin(sec_fetch_site="sideways", origin="https://evil.example", own=SELF, trusted=())
    assert not cross_origin(sec_fetch_site="sideways", origin=SELF, own=SELF, trusted=())
    assert not cross_origin(sec_fetch_site="sideways", origin=None, own=SELF, trusted=())


@pytest.mark.parametrize(
    ("sec_fetch_site", "origin", "vouched"),
    [
        ("same-origin", None, True),
        (None, SELF, True),
        (None, "https://APP.example:443", True),
        (None, "https://admin.example", True),  # trusted
        ("none", None, False),  # typed in: no page of ours vouches for it
        ("cross-site", "https://evil.example", False),
        (None, "null", False),
        (None, None, False),  # no browser said anything: the token is needed
    ],
)
def test_only_a_positive_same_origin_header_vouches_for_an_anonymous_session(
    sec_fetch_site: str | None, origin: str | None, vouched: bool
) -> None:
    trusted = (trusted_origin("https://admin.example"),)
    assert (
        same_origin_vouched(sec_fetch_site=sec_fetch_site, origin=origin, own=SELF, trusted=trusted)
        is vouched
    )
