"""The key layout: every key of one user in one Redis Cluster hash slot, none revealing who.

    <prefix>{<tag>}:s:<digest hex>   a session (hash)
    <prefix>{<tag>}:u:<user label>   the user's index (sorted set: digest hex -> absolute deadline)
    <prefix>{<tag>}:a:<session id>   an anonymous session's own index, once rotated (the same shape)
    <prefix>{<tag>}:p                the platform cache of the tag (hash, fields per user label)
    <prefix>{<tag>}:e:<user label>   the user's event channel (sharded pub/sub)
    <prefix>{<tag>}:t:<digest hex>   a tombstone: that token's session ended (two-tier storage)
    <prefix>{<slot tag>}:complete    the completeness marker of one hash slot (two-tier storage)
    <prefix>rewarm-lock              held by the one process rewarming (two-tier storage)

``<tag>`` is the routing tag (40-bit HMAC of the user id, also carried by the token, so the
slot is known from a token digest alone); ``<user label>`` is the 128-bit HMAC label that
keeps two users who share a tag apart. See architecture.md, "Redis".
"""

from __future__ import annotations

import re

from attrs import frozen

from platform_sessions.adapters.redis.client import DEFAULT_KEY_PREFIX
from platform_sessions.domain.ids import SessionId, UserId
from platform_sessions.domain.routing import RoutingKey
from platform_sessions.domain.token import RoutingTag, TokenDigest

_GLOB_SPECIALS = re.compile(r"([*?\[\]\\])")


@frozen(repr=False)
class RedisKeys:
    """Builds every key and channel name from a prefix and the routing key."""

    routing_key: RoutingKey
    prefix: str = DEFAULT_KEY_PREFIX

    def tag_for(self, user_id: UserId) -> RoutingTag:
        """The routing tag of ``user_id``'s keys (the one its tokens carry)."""
        return self.routing_key.tag_for(user_id)

    def label_for(self, user_id: UserId) -> str:
        """The 128-bit label naming ``user_id``'s own index, cache fields and channel."""
        return self.routing_key.user_label(user_id)

    def session(self, digest: TokenDigest) -> str:
        """The hash of the session whose token has ``digest``."""
        return self.session_in(digest.routing_tag, digest.hex)

    def session_in(self, tag: RoutingTag, digest_hex: str) -> str:
        """The hash of a session known by its index member (the digest hex) under ``tag``."""
        return f"{self.prefix}{{{tag.value}}}:s:{digest_hex}"

    def index(self, tag: RoutingTag, label: str) -> str:
        """The sorted set of a user's sessions (members: digest hex; scores: absolute deadline)."""
        return f"{self.prefix}{{{tag.value}}}:u:{label}"

    def anonymous_index(self, tag: RoutingTag, session_id: SessionId) -> str:
        """The index of one anonymous session (in no user's): the digest it is under now, so a
        delete by id finds it after a rotation, as a user's index does for a user's sessions."""
        return f"{self.prefix}{{{tag.value}}}:a:{session_id}"

    def index_for(self, user_id: UserId) -> str:
        """:meth:`index` of ``user_id``, computed from the user id."""
        return self.index(self.tag_for(user_id), self.label_for(user_id))

    def platform_cache(self, tag: RoutingTag) -> str:
        """The hash caching the platforms of every user whose routing tag is ``tag``."""
        return f"{self.prefix}{{{tag.value}}}:p"

    def events_channel(self, user_id: UserId) -> str:
        """The (sharded) pub/sub channel of ``user_id``'s events."""
        return f"{self.prefix}{{{self.tag_for(user_id).value}}}:e:{self.label_for(user_id)}"

    def tombstone(self, digest: TokenDigest) -> str:
        """The key whose presence says the session under ``digest`` ended for good."""
        return f"{self.prefix}{{{digest.routing_tag.value}}}:t:{digest.hex}"

    def completeness_marker(self, slot_tag: str) -> str:
        """The marker of the hash slot that ``slot_tag`` (see ``slot_markers``) hashes to."""
        return f"{self.prefix}{{{slot_tag}}}:complete"

    def rewarm_lock(self) -> str:
        """The lock that lets one process at a time rewarm."""
        return f"{self.prefix}rewarm-lock"

    def session_pattern(self) -> str:
        """A SCAN MATCH pattern for every session key under this prefix."""
        escaped = _GLOB_SPECIALS.sub(r"\\\1", self.prefix)
        return f"{escaped}{{*}}:s:*"

    def parse_session(self, key: str) -> tuple[RoutingTag, str] | None:
        """The tag and digest hex of a session key, or ``None`` if ``key`` is not one."""
        match = re.fullmatch(rf"{re.escape(self.prefix)}\{{([a-z2-7]{{8}})\}}:s:([0-9a-f]{{64}})", key)
        if match is None:
            return None
        return RoutingTag(match.group(1)), match.group(2)

    def __repr__(self) -> str:
        return f"RedisKeys(prefix={self.prefix!r})"
