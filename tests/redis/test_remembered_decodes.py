"""Resolve remembers recent decodes; what it hands out must still be the caller's to keep.

The resolve script replies with the session as one JSON object; the same reply decodes to the
same immutable session, so it is decoded once. These tests pin the limits of that memo: nested
attribute values are copied per caller, a corrupt reply is reported every time, and a changed
session is decoded afresh.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from platform_sessions.adapters.redis.errors import CorruptPayload
from platform_sessions.adapters.redis.platform_codec import decode_platform, encode_platform
from platform_sessions.adapters.redis.session_codec import decode_session_json, encode_session
from platform_sessions.domain.policy import SessionPolicy
from platform_sessions.domain.routing import issue_token
from tests.builders import ROUTING_KEY, a_platform, a_session


def _reply(session: Any) -> bytes:
    """The session as the resolve script replies with it (every field, as one JSON object)."""
    return json.dumps(encode_session(session, "label")).encode()


def test_the_same_reply_decodes_to_the_same_session_once(clock: Any) -> None:
    session = a_session(now=clock.now(), policy=SessionPolicy(), attributes={"role": "admin"})
    reply = _reply(session)

    first = decode_session_json(reply, session.token_digest)
    again = decode_session_json(bytes(reply), session.token_digest)

    assert first == session
    assert again is first


def test_nested_attributes_are_each_callers_own(clock: Any) -> None:
    session = a_session(now=clock.now(), policy=SessionPolicy(), attributes={"roles": ["reader"]})
    reply = _reply(session)

    first = decode_session_json(reply, session.token_digest)
    first.attributes["roles"].append("admin")  # an application changing a nested value in place

    assert decode_session_json(reply, session.token_digest).attributes["roles"] == ["reader"]


def test_a_reply_is_remembered_for_its_own_token_only(clock: Any) -> None:
    session = a_session(now=clock.now(), policy=SessionPolicy())
    other_digest = issue_token(ROUTING_KEY, "alice").digest

    decoded = decode_session_json(_reply(session), other_digest)

    assert decoded.token_digest == other_digest


@pytest.mark.parametrize(
    "reply",
    [b"{oops", b'{"schema": "1"}', b"[1, 2]", b'{"schema": 1}', b'{"user_agent": "\xff"}', 42],
    ids=["not JSON", "missing fields", "not an object", "not strings", "not UTF-8", "not text"],
)
def test_a_corrupt_reply_is_reported_every_time(reply: object, clock: Any) -> None:
    digest = issue_token(ROUTING_KEY, "alice").digest
    for _ in range(2):  # errors are never remembered
        with pytest.raises(CorruptPayload):
            decode_session_json(reply, digest)


def test_a_changed_platform_record_is_decoded_afresh() -> None:
    platform = a_platform()
    renamed = a_platform(name="Renamed")

    assert decode_platform(encode_platform(platform).encode(), platform.user_id) == platform
    assert decode_platform(encode_platform(renamed).encode(), renamed.user_id) == renamed
    with pytest.raises(CorruptPayload):
        decode_platform(b'{"schema": 1, "id": "\xff"}', platform.user_id)
