"""Two users who share a routing tag, which 40-bit tags make rare but never impossible."""

from __future__ import annotations

from attrs import frozen

from platform_sessions.adapters.redis import RedisKeys
from platform_sessions.domain.ids import UserId
from platform_sessions.domain.token import RoutingTag, SessionToken

SHARED_TAG = RoutingTag("sharedtg")


@frozen(repr=False)
class SharedTagKeys(RedisKeys):
    """Keys under which every user has the same routing tag (labels stay per user)."""

    def tag_for(self, user_id: UserId) -> RoutingTag:
        return SHARED_TAG


def shared_tag_token() -> SessionToken:
    """A token carrying the shared tag, as the routing key would issue it for such a user."""
    return SessionToken.issue(SHARED_TAG)
