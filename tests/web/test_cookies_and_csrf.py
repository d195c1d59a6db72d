"""Cookie reading and writing, the CSRF comparison, and finding the token in a form body."""

from __future__ import annotations

import pytest

from platform_sessions.domain.errors import InvalidInput
from platform_sessions.entrypoints.web import WebSettings
from platform_sessions.entrypoints.web.cookies import cleared_session_cookie, read_cookie, session_cookie
from platform_sessions.entrypoints.web.csrf import csrf_token_matches, is_unsafe_method
from platform_sessions.entrypoints.web.form_field import form_field, is_form
from tests.web.support import SetCookie


def test_the_session_cookie_is_found_among_others_however_odd_they_are() -> None:
    header = 'theme="dark; mode"; junk; __Host-platform_session=abc.def ; other=1'
    assert read_cookie(header, "__Host-platform_session") == "abc.def"
    assert read_cookie(header, "platform_session") is None
    assert read_cookie(None, "x") is None
    assert read_cookie("x=" + "a" * 20_000, "x") is None  # no browser of ours sends that


def test_a_secure_cookie_has_the_host_prefix_and_every_protective_attribute() -> None:
    cookie = SetCookie.parse(session_cookie(WebSettings(), "tok.en", 3600))
    assert cookie.name == "__Host-platform_session"
    assert cookie.value == "tok.en"
    assert cookie.attributes == {
        "max-age": "3600",
        "path": "/",
        "httponly": "",
        "samesite": "Lax",
        "secure": "",
    }


def test_a_browser_session_cookie_has_neither_max_age_nor_expires() -> None:
    cookie = SetCookie.parse(session_cookie(WebSettings(), "tok.en", None))
    assert cookie.value == "tok.en"
    assert "max-age" not in cookie.attributes
    assert "expires" not in cookie.attributes
    assert cookie.attributes.keys() == {"path", "httponly", "samesite", "secure"}


def test_a_plain_http_cookie_drops_secure_and_with_it_the_prefix() -> None:
    cookie = SetCookie.parse(session_cookie(WebSettings(cookie_name="demo", secure=False), "t", 10))
    assert cookie.name == "demo"
    assert "secure" not in cookie.attributes
    assert cookie.attributes["httponly"] == ""
    assert cookie.attributes["samesite"] == "Lax"
    assert "domain" not in cookie.attributes


def test_clearing_sends_an_empty_value_that_expires_at_once() -> None:
    cookie = SetCookie.parse(cleared_session_cookie(WebSettings()))
    assert (cookie.name, cookie.value, cookie.attributes["max-age"]) == ("__Host-platform_session", "", "0")
    assert cookie.attributes["path"] == "/"


@pytest.mark.parametrize("name", ["", "a b", "__Host-x", "__Secure-x", "x;y", "é"])
def test_cookie_names_that_would_break_the_header_or_the_prefix_rules_are_refused(name: str) -> None:
    with pytest.raises(InvalidInput):
        WebSettings(cookie_name=name)


def test_header_and_field_names_are_checked() -> None:
    with pytest.raises(InvalidInput):
        WebSettings(csrf_header="X CSRF")
    with pytest.raises(InvalidInput):
        WebSettings(csrf_form_field="a&b")


def test_only_unsafe_methods_need_the_token() -> None:
    assert [m for m in ("GET", "head", "OPTIONS", "TRACE") if is_unsafe_method(m)] == []
    assert all(is_unsafe_method(m) for m in ("POST", "put", "PATCH", "DELETE"))


def test_the_comparison_takes_only_the_exact_token() -> None:
    assert csrf_token_matches("s3cret", "s3cret")
    assert not csrf_token_matches("s3cret", "s3cre")
    assert not csrf_token_matches("s3cret", None)
    assert not csrf_token_matches("s3cret", "")
    assert not csrf_token_matches("s3cret", "sécret")  # non-ASCII input is compared, not a crash


def test_the_token_is_found_in_an_urlencoded_form() -> None:
    body = b"a=1&csrf_token=tok%2Ben&b=2"
    assert is_form("application/x-www-form-urlencoded; charset=utf-8")
    assert form_field("application/x-www-form-urlencoded", body, "csrf_token") == "tok+en"
    assert form_field("application/x-www-form-urlencoded", b"a=1", "csrf_token") is None


def test_the_token_is_found_in_a_multipart_form() -> None:
    boundary = "xyz"
    body = (
        f"--{boundary}\r\n"
        'Content-Disposition: form-data; name="file"; filename="a.txt"\r\n'
        "Content-Type: text/plain\r\n\r\n"
        "hello\r\n"
        f"--{boundary}\r\n"
        'Content-Disposition: form-data; name="csrf_token"\r\n\r\n'
        "the-token\r\n"
        f"--{boundary}--\r\n"
    ).encode()
    content_type = f"multipart/form-data; boundary={boundary}"
    assert is_form(content_type)
    assert form_field(content_type, body, "csrf_token") == "the-token"
    assert form_field(content_type, body, "missing") is None


def test_json_and_other_bodies_are_not_searched() -> None:
    assert not is_form("application/json")
    assert form_field("application/json", b'{"csrf_token": "x"}', "csrf_token") is None


def test_a_cookie_change_never_shows_its_token() -> None:
    from platform_sessions.entrypoints.web.handle import SetCookie as CookieChange

    assert "s3cret" not in repr(CookieChange(token="s3cret", max_age=10))


def test_the_multipart_parser_is_imported_only_when_a_multipart_body_is_searched() -> None:
    import subprocess
    import sys

    # Other packages may import `multipart` themselves (Starlette's form parser falls back to
    # it when python-multipart is absent, and dependency-injector's wiring imports Starlette),
    # so the proof is that our code works with the module unimportable until a multipart body
    # is searched, not that sys.modules lacks it.
    script = (
        "import sys\n"
        "sys.modules['multipart'] = None  # an import of it raises ImportError\n"
        "from platform_sessions.entrypoints.web import SessionMiddleware\n"
        "from platform_sessions.entrypoints.web.form_field import form_field\n"
        "assert form_field('application/x-www-form-urlencoded', b'csrf_token=t', 'csrf_token') == 't'\n"
        "del sys.modules['multipart']\n"
        "form_field('multipart/form-data; boundary=b', b'--b--', 'csrf_token')\n"
        "assert sys.modules['multipart'] is not None\n"
    )
    subprocess.run([sys.executable, "-c", script], check=True)


def test_limits_turn_a_body_beyond_them_into_a_clear_error() -> None:
    from platform_sessions.entrypoints.web.form_field import FormLimits, FormUnreadable

    few = FormLimits(max_parts=2, max_urlencoded_fields=2)
    part = b'--b\r\nContent-Disposition: form-data; name="a"\r\n\r\nx\r\n'
    with pytest.raises(FormUnreadable):
        form_field("multipart/form-data; boundary=b", part * 3 + b"--b--\r\n", "csrf_token", few)
    with pytest.raises(FormUnreadable):
        form_field("application/x-www-form-urlencoded", b"a=1&b=2&c=3", "csrf_token", few)
    with pytest.raises(FormUnreadable):
        form_field("multipart/form-data", part, "csrf_token")  # no boundary
    # The token found before a limit is reached is found: the rest is the application's.
    token_first = b'--b\r\nContent-Disposition: form-data; name="csrf_token"\r\n\r\ntok\r\n' + part * 5
    assert form_field("multipart/form-data; boundary=b", token_first, "csrf_token", few) == "tok"
