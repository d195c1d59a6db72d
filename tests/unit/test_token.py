from __future__ import annotations

import hashlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from platform_sessions.domain.errors import InvalidInput, MalformedToken
from platform_sessions.domain.routing import RoutingKey, issue_token
from platform_sessions.domain.token import TOKEN_LENGTH, RoutingTag, SessionToken, TokenDigest
from tests.builders import ROUTING_KEY


def test_an_issued_token_parses_back_and_carries_its_routing_tag():
    token = issue_token(ROUTING_KEY, "alice")
    assert len(str(token)) == TOKEN_LENGTH
    assert SessionToken.parse(str(token)) == token
    assert SessionToken.parse(str(token).encode("ascii")) == token
    assert token.routing_tag == ROUTING_KEY.tag_for("alice")


def test_tokens_are_unique_and_hold_256_random_bits():
    tokens = {str(issue_token(ROUTING_KEY, "alice")) for _ in range(1000)}
    assert len(tokens) == 1000
    secret = next(iter(tokens)).split(".")[1]
    assert len(secret) == 43  # base64url of 32 bytes


def test_the_digest_is_the_sha256_of_the_token():
    token = issue_token(ROUTING_KEY, "alice")
    assert token.digest.hex == hashlib.sha256(str(token).encode()).hexdigest()


def test_a_token_never_shows_in_its_repr():
    token = issue_token(ROUTING_KEY, "alice")
    assert str(token).split(".")[1] not in repr(token)


def test_no_credential_shows_in_the_repr_of_a_started_session():
    from platform_sessions.entrypoints import bootstrap

    with bootstrap(storage="memory") as sessions:
        started = sessions.start_session("alice")
        rotated = sessions.rotate(started.token.value)
        for value in (started, started.context, started.context.session, rotated, rotated.session):
            text = repr(value)
            assert started.token.value.split(".")[1] not in text
            assert started.context.csrf_token not in text
            assert rotated.session.csrf_token not in text
            assert rotated.token.value.split(".")[1] not in text
        assert "csrf_token='<redacted>'" in repr(started.context.session)


def test_routing_tags_depend_on_the_key_and_do_not_show_the_user():
    other_key = RoutingKey(b"another-key-of-enough-length!!")
    assert ROUTING_KEY.tag_for("alice") == ROUTING_KEY.tag_for("alice")
    assert ROUTING_KEY.tag_for("alice") != other_key.tag_for("alice")
    assert "alice" not in ROUTING_KEY.tag_for("alice").value
    assert ROUTING_KEY.user_label("alice") != ROUTING_KEY.user_label("bob")
    assert len(ROUTING_KEY.user_label("alice")) == 32


def test_a_short_routing_key_is_refused():
    with pytest.raises(InvalidInput):
        RoutingKey(b"short")


@pytest.mark.parametrize(
    "raw",
    [
        "",
        "abcdefgh.",
        "ABCDEFGH." + "a" * 43,  # tag must be lowercase base32
        "abcdefg1." + "a" * 43,  # 1 is not base32
        "abcdefgh:" + "a" * 43,
        "abcdefgh." + "a" * 42 + "=",
        "abcdefgh." + "a" * 42 + "é",
        "abcdefgh." + "a" * 44,
        " abcdefgh." + "a" * 42,
        "x" * 10_000_000,
        None,
        123,
        b"\xff" * 52,
        ["abcdefgh." + "a" * 43],
    ],
)
def test_malformed_tokens_are_refused(raw):
    with pytest.raises(MalformedToken):
        SessionToken.parse(raw)


@given(st.one_of(st.text(max_size=80), st.binary(max_size=80), st.integers(), st.none(), st.floats()))
def test_no_input_raises_anything_but_malformed_token(raw):
    try:
        token = SessionToken.parse(raw)
    except MalformedToken:
        return
    assert len(token.value) == TOKEN_LENGTH


@given(
    st.text(alphabet="abcdefghijklmnopqrstuvwxyz234567", min_size=8, max_size=8),
    st.text(
        alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_", min_size=43, max_size=43
    ),
)
def test_every_well_formed_token_parses(tag, secret):
    assert SessionToken.parse(f"{tag}.{secret}").routing_tag.value == tag


@pytest.mark.parametrize(
    "raw", ["", "abcdefgh.", "ABCDEFGH." + "a" * 43, "abcdefgh:" + "a" * 43, "abcdefgh." + "a" * 44, None]
)
def test_the_constructor_refuses_what_parse_refuses(raw):
    # The tag and the digest are derived without checking them again: every token is checked.
    with pytest.raises(MalformedToken):
        SessionToken(raw)


@given(
    st.text(alphabet="abcdefghijklmnopqrstuvwxyz234567", min_size=8, max_size=8),
    st.text(
        alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_", min_size=43, max_size=43
    ),
)
def test_the_derived_tag_and_digest_are_the_validated_values(tag, secret):
    token = SessionToken.parse(f"{tag}.{secret}")
    validated = TokenDigest(hashlib.sha256(str(token).encode("ascii")).hexdigest(), RoutingTag(tag))
    assert token == SessionToken(str(token))
    assert token.digest == validated
    assert hash(token.digest) == hash(validated)  # stores and the near cache key by it
    assert token.routing_tag == RoutingTag(tag)
