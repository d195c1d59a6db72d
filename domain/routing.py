"""The routing key: a server secret that turns user ids into opaque, stable labels.

A sharded store needs every key of one user in one place (one Redis Cluster slot) and must
find that place from the token alone. Labels are keyed hashes (HMAC-SHA-256) so that neither
a key name nor a token's routing tag reveals or confirms a user id to someone without the key.
The key must be the same in every process and across restarts, like any signing secret.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets

from attrs import field, frozen

from platform_sessions.domain.errors import InvalidInput
from platform_sessions.domain.ids import UserId
from platform_sessions.domain.token import ROUTING_TAG_LENGTH, RoutingTag, SessionToken

MIN_KEY_BYTES = 16


def _check_key(_: object, __: object, value: bytes) -> None:
    if len(value) < MIN_KEY_BYTES:
        raise InvalidInput(f"the routing key must be at least {MIN_KEY_BYTES} bytes")


@frozen(repr=False)
class RoutingKey:
    """The secret behind routing tags and user labels."""

    secret: bytes = field(validator=_check_key)

    @classmethod
    def from_text(cls, text: str) -> RoutingKey:
        """A key from configuration text (an environment variable, a settings file)."""
        return cls(text.encode("utf-8"))

    def _mac(self, purpose: bytes, user_id: UserId) -> bytes:
        return hmac.new(self.secret, purpose + b"\x00" + user_id.encode("utf-8"), hashlib.sha256).digest()

    def tag_for(self, user_id: UserId) -> RoutingTag:
        """The routing tag carried by every token of ``user_id``: 40 bits, collisions harmless."""
        encoded = base64.b32encode(self._mac(b"route", user_id)[:5]).decode("ascii").lower()
        return RoutingTag(encoded[:ROUTING_TAG_LENGTH])

    def user_label(self, user_id: UserId) -> str:
        """A 128-bit label for the user's own keys (their index, their platform cache).

        Unlike the short routing tag it does not collide in practice, so two users sharing a
        tag never share an index.
        """
        return self._mac(b"user", user_id)[:16].hex()

    def fingerprint(self) -> str:
        """A public name of this key (HMAC of a constant, 128 bits): stored beside the data, so a
        process configured with another key is refused instead of silently missing sessions.
        It reveals nothing of the key."""
        return hmac.new(self.secret, b"fingerprint", hashlib.sha256).digest()[:16].hex()

    def __repr__(self) -> str:
        return "RoutingKey(…)"


def issue_token(routing_key: RoutingKey, user_id: UserId | None) -> SessionToken:
    """A fresh session token for ``user_id``, tagged so its owner's keys can be found; for
    ``None`` (an anonymous session), one under a random tag (:func:`issue_anonymous_token`)."""
    if user_id is None:
        return issue_anonymous_token()
    return SessionToken.issue(routing_key.tag_for(user_id))


def random_routing_tag() -> RoutingTag:
    """A routing tag derived from no user (40 random bits): where an anonymous session lives.

    It belongs to no user's slot, so a sharded store places visitors' sessions anywhere; a
    collision with some user's tag only puts two unrelated keys in one slot, which is harmless.
    """
    encoded = base64.b32encode(secrets.token_bytes(5)).decode("ascii").lower()
    return RoutingTag(encoded[:ROUTING_TAG_LENGTH])


def issue_anonymous_token() -> SessionToken:
    """A fresh session token for a visitor, under a random routing tag."""
    return SessionToken.issue(random_routing_tag())
