"""The session token: the secret the browser holds, and the only thing it holds.

Format: ``<routing tag>.<secret>``, e.g. ``mfrggzdf.9Zq...`` (52 ASCII characters).

- The secret is 32 bytes (256 bits) from :mod:`secrets`, base64url without padding.
- The routing tag (8 base32 characters, 40 bits) is a keyed hash of the user id (see
  :mod:`platform_sessions.domain.routing`). A store that shards by user (Redis Cluster hash
  tags) finds the user's slot from the token alone, without an extra read, and the tag reveals
  nothing about the user id to anyone without the routing key.
- Stores only ever see :class:`TokenDigest`, the SHA-256 of the whole token, so a dump of a
  store cannot be replayed as a cookie.

The format is checked before any I/O: a malformed, oversized or non-ASCII token is rejected
with :class:`MalformedToken` without touching a store.
"""

from __future__ import annotations

import base64
import hashlib
import re
import secrets

from attrs import field, frozen

from platform_sessions.domain.errors import MalformedToken

ROUTING_TAG_LENGTH = 8
SECRET_BYTES = 32
_SECRET_LENGTH = 43  # base64url of 32 bytes, padding stripped
TOKEN_LENGTH = ROUTING_TAG_LENGTH + 1 + _SECRET_LENGTH

_TAG_PATTERN = re.compile(r"[a-z2-7]{8}")
_TOKEN_PATTERN = re.compile(r"([a-z2-7]{8})\.([A-Za-z0-9_-]{43})")
_DIGEST_PATTERN = re.compile(r"[0-9a-f]{64}")


def _check_token(_: object, __: object, value: str) -> None:
    if not (isinstance(value, str) and len(value) == TOKEN_LENGTH and _TOKEN_PATTERN.fullmatch(value)):
        raise MalformedToken("a session token is <routing tag>.<secret>")


# Builds a frozen instance without its validators: only for values derived from a token
# already checked (its own tag, the SHA-256 of it), valid by construction. A resolve derives
# both on every request; the format was checked once, on the token.
_new = object.__new__
_set = object.__setattr__


def _check_tag(_: object, __: object, value: str) -> None:
    if not _TAG_PATTERN.fullmatch(value):
        raise MalformedToken("a routing tag is 8 lowercase base32 characters")


def _check_digest(_: object, __: object, value: str) -> None:
    if not _DIGEST_PATTERN.fullmatch(value):
        raise ValueError("a token digest is 64 lowercase hex characters")


@frozen
class RoutingTag:
    """Locates a user's keys in a sharded store without revealing the user id."""

    value: str = field(validator=_check_tag)

    def __str__(self) -> str:
        return self.value


@frozen
class TokenDigest:
    """SHA-256 of a session token, hex encoded: the only form of a token a store sees.

    It keeps the token's routing tag (not secret: it is in the clear in the cookie) so that a
    store sharded by user finds the owner's slot from the digest alone.
    """

    hex: str = field(validator=_check_digest)
    routing_tag: RoutingTag

    def __str__(self) -> str:
        return self.hex


@frozen(repr=False)
class SessionToken:
    """A session token the library issued. Build it with :meth:`issue` or :meth:`parse`.

    Every instance holds a token of the issued format (the constructor checks it too), so
    its routing tag and digest are derived without checking them again.
    """

    value: str = field(validator=_check_token)

    @classmethod
    def issue(cls, routing_tag: RoutingTag) -> SessionToken:
        """A fresh token for a user whose keys live under ``routing_tag``."""
        secret = base64.urlsafe_b64encode(secrets.token_bytes(SECRET_BYTES)).rstrip(b"=")
        return cls(f"{routing_tag.value}.{secret.decode('ascii')}")

    @classmethod
    def parse(cls, raw: object) -> SessionToken:
        """Check the format of an untrusted token (a cookie, a header) without any I/O.

        Raises :class:`MalformedToken`, and nothing else, for any input that is not a token of
        the format the library issues.
        """
        if isinstance(raw, bytes):
            # Only ASCII can be a token; decoding anything else would be guesswork.
            if len(raw) != TOKEN_LENGTH or not raw.isascii():
                raise MalformedToken("a session token is 52 ASCII characters")
            raw = raw.decode("ascii")
        if not isinstance(raw, str):
            raise MalformedToken("a session token is a string")
        # Length first: a megabyte of cookie is rejected before any pattern work.
        if len(raw) != TOKEN_LENGTH or not raw.isascii():
            raise MalformedToken("a session token is 52 ASCII characters")
        if _TOKEN_PATTERN.fullmatch(raw) is None:
            raise MalformedToken("a session token is <routing tag>.<secret>")
        token = _new(cls)
        _set(token, "value", raw)  # just checked, as the validator would check it again
        return token

    @property
    def routing_tag(self) -> RoutingTag:
        """The tag that locates the owner's keys."""
        tag = _new(RoutingTag)
        _set(tag, "value", self.value[:ROUTING_TAG_LENGTH])
        return tag

    @property
    def digest(self) -> TokenDigest:
        """What stores key the session by."""
        hex_digest = hashlib.sha256(self.value.encode("ascii")).hexdigest()  # 64 lowercase hex
        digest = _new(TokenDigest)
        _set(digest, "hex", hex_digest)
        _set(digest, "routing_tag", self.routing_tag)
        return digest

    def __str__(self) -> str:
        return self.value

    def __repr__(self) -> str:
        # Never print a live credential into a log or a traceback.
        return f"SessionToken({self.routing_tag.value}.…)"
