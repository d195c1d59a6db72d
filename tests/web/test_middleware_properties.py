"""Property-based tests: whatever a client sends, the middlewares never answer 500.

Cookies, methods, headers, content types, query strings and bodies are fuzzed, around the
shapes the middleware looks into (a real session's cookie and token, multipart bodies with
odd parts, nested parameters) so that the examples reach the form-field lookup, the origin
check and the override rule, not only the first refusal.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from typing import Any
from wsgiref.types import StartResponse

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from platform_sessions.entrypoints import PlatformSessions
from platform_sessions.entrypoints.web import AsgiSessionMiddleware, SessionMiddleware, WebSettings
from tests.web.neutral_apps import asgi_app
from tests.web.raw_calls import COOKIE, Login, asgi_status, login, wsgi_status

# What the middlewares may answer by themselves, and the application's own 200.
ANSWERS = {200, 400, 403, 404, 503}
FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])

# Header values as a server hands them on: latin-1 text (CR/LF included: the middleware must
# not rely on the server having refused them).
header_text = st.text(st.characters(min_codepoint=0, max_codepoint=255), max_size=80)
boundary = st.one_of(st.just("b"), st.text(st.characters(min_codepoint=33, max_codepoint=126), max_size=80))
parameter = st.one_of(
    header_text,
    st.sampled_from([1, 100, 5000]).map(lambda n: "(" * n),  # the RecursionError of the email parser
    st.sampled_from([1, 50, 2000]).map(lambda n: "=?utf-8?q?a?= " * n),
    st.just('"unterminated'),
)
content_type = st.one_of(
    st.builds(lambda b, p: f"multipart/form-data; boundary={b}; x={p}", boundary, parameter),
    st.builds(lambda b: f"multipart/form-data; boundary={b}", boundary),
    st.just("multipart/form-data"),
    st.just("application/x-www-form-urlencoded"),
    st.just("application/json"),
    header_text,
)
disposition = st.one_of(
    st.builds(lambda name: f'form-data; name="{name}"', st.sampled_from(["csrf_token", "a", ""])),
    st.builds(lambda p: f"form-data; name=csrf_token; x={p}", parameter),
    header_text,
)
part = st.builds(
    lambda d, extra, payload: f"--b\r\nContent-Disposition: {d}\r\n{extra}\r\n{payload}\r\n",
    disposition,
    st.sampled_from(
        ["", "Content-Type: text/plain\r\n", "Content-Length: 3\r\n", "X: " + "y" * 5000 + "\r\n"]
    ),
    header_text,
)
multipart_body = st.builds(
    lambda parts, end: ("".join(parts) + end).encode("latin-1"),
    st.lists(part, max_size=6),
    st.sampled_from(["--b--\r\n", "--b--", "", "--b\r\n"]),
)
body = st.one_of(
    multipart_body,
    st.binary(max_size=300),
    st.builds(lambda v: b"a=1&csrf_token=" + v, st.binary(max_size=60)),
    st.integers(0, 3000).map(lambda n: b"&" * n),
)
method = st.one_of(st.sampled_from(["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]), header_text)
optional = st.one_of(st.none(), header_text)


@st.composite
def requests(draw: st.DrawFn, session: Login) -> dict[str, object]:
    # Mostly a real session, so that most examples get past the resolve to the CSRF check.
    cookie = draw(
        st.sampled_from([session.cookie, session.cookie, f"a=1; {session.cookie}; {COOKIE}=x"])
        | st.sampled_from([None, f"{COOKIE}=garbage", "x" * 20000])
        | header_text
    )
    headers = {
        "Cookie": cookie,
        "Content-Type": draw(st.one_of(st.none(), content_type)),
        "X-CSRF-Token": draw(st.sampled_from([None, None, None, session.csrf_token]) | optional),
        "Origin": draw(
            st.sampled_from([None, "https://app.example", "null", "https://evil.example"]) | optional
        ),
        "Sec-Fetch-Site": draw(st.sampled_from([None, "same-origin", "cross-site", "none"]) | optional),
        "X-HTTP-Method-Override": draw(st.sampled_from([None, "DELETE"]) | optional),
        "X-Platform-Id": draw(optional),
        "Host": draw(st.sampled_from(["app.example", None]) | header_text),
    }
    return {
        "method": draw(method),
        "headers": [(name, value) for name, value in headers.items() if value is not None],
        "body": draw(body),
        "query": draw(st.sampled_from(["", "_method=DELETE"]) | header_text),
        "content_length": draw(st.sampled_from([None, None, "abc", "-1", "99999999"])),
    }


def wsgi_app(environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
    """Reads whatever body it is handed (the middleware's replay, or the rest) and says 200."""
    environ["wsgi.input"].read()
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"ok"]


def test_the_wsgi_middleware_never_answers_500(sessions: PlatformSessions) -> None:
    session = login(sessions)
    middleware = SessionMiddleware(wsgi_app, sessions, settings=WebSettings(max_form_bytes=64 * 1024))

    @FUZZ
    @given(request=requests(session))
    def check(request: dict[str, object]) -> None:
        status = wsgi_status(
            middleware,
            str(request["method"]),
            request["headers"],  # type: ignore[arg-type]
            request["body"],  # type: ignore[arg-type]
            query=str(request["query"]),
            content_length=request["content_length"],  # type: ignore[arg-type]
        )
        assert status in ANSWERS

    check()


def test_the_asgi_middleware_never_answers_500(sessions: PlatformSessions) -> None:
    session = login(sessions)
    middleware = AsgiSessionMiddleware(asgi_app, sessions, settings=WebSettings(max_form_bytes=64 * 1024))

    @FUZZ
    @given(request=requests(session), chunk_size=st.integers(1, 512))
    def check(request: dict[str, object], chunk_size: int) -> None:
        headers = [
            (str(name).lower().encode("latin-1"), str(value).encode("latin-1"))
            for name, value in request["headers"]  # type: ignore[attr-defined]
        ]
        status = asyncio.run(
            asgi_status(
                middleware,
                str(request["method"]),
                headers,
                request["body"],  # type: ignore[arg-type]
                query=str(request["query"]).encode("latin-1"),
                chunk_size=chunk_size,
            )
        )
        assert status in ANSWERS

    check()


# Focused: every example is a logged-in, same-origin, unsafe form post without the header, so
# every one of them reaches the form-field lookup with a fuzzed content type and body.
form_request = st.fixed_dictionaries(
    {
        "content_type": content_type.filter(lambda value: "form" in value) | content_type,
        "body": body,
        "with_field_token": st.booleans(),
    }
)


def _form_body(session: Login, request: dict[str, Any]) -> bytes:
    body: bytes = request["body"]
    if request["with_field_token"]:
        token = session.csrf_token.encode()
        body = body.replace(b"csrf_token=", b"csrf_token=" + token) + b"&csrf_token=" + token
    return body


def test_the_wsgi_form_lookup_never_answers_500(sessions: PlatformSessions) -> None:
    session = login(sessions)
    middleware = SessionMiddleware(wsgi_app, sessions)

    @FUZZ
    @given(request=form_request)
    def check(request: dict[str, Any]) -> None:
        headers = [("Cookie", session.cookie), ("Content-Type", request["content_type"])]
        assert wsgi_status(middleware, "POST", headers, _form_body(session, request)) in ANSWERS

    check()


def test_the_asgi_form_lookup_never_answers_500(sessions: PlatformSessions) -> None:
    session = login(sessions)
    middleware = AsgiSessionMiddleware(asgi_app, sessions)

    @FUZZ
    @given(request=form_request, chunk_size=st.integers(1, 512))
    def check(request: dict[str, Any], chunk_size: int) -> None:
        headers = [
            (b"cookie", session.cookie.encode()),
            (b"content-type", request["content_type"].encode("latin-1")),
        ]
        body = _form_body(session, request)
        status = asyncio.run(asgi_status(middleware, "POST", headers, body, chunk_size=chunk_size))
        assert status in ANSWERS

    check()
