"""What the platform cache holds for one user, and what one read of it answers."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from attrs import frozen

from platform_sessions.domain.ids import PlatformId
from platform_sessions.domain.platform import PlatformConnection


@frozen
class UserPlatforms:
    """A user's whole platform list, as the backing directory gave it (what a fill caches).

    Caching the whole list, not single records, makes a cached "no such platform" as
    authoritative as a cached record: a foreign or removed id costs no database read.
    """

    by_id: Mapping[PlatformId, PlatformConnection]
    default_id: PlatformId | None

    @classmethod
    def from_list(cls, platforms: Sequence[PlatformConnection]) -> UserPlatforms:
        """The list with its default: the platform marked default, as the directory defines it."""
        default = next((p for p in platforms if p.is_default), None)
        return cls({p.id: p for p in platforms}, default.id if default else None)

    def get(self, platform_id: PlatformId | None) -> PlatformConnection | None:
        """The platform ``platform_id``, if the user has it."""
        return self.by_id.get(platform_id) if platform_id is not None else None

    @property
    def default(self) -> PlatformConnection | None:
        """The user's default platform, if any."""
        return self.get(self.default_id)


Generation = bytes | str
"""A user's cache generation, as Redis gave it; handed back to a fill unchanged."""


@frozen
class PlatformLookup:
    """One read of a user's cache entry: a hit with the records asked for, or a miss.

    ``generation`` is what a fill after a miss must present, so that a fill racing an
    invalidation is refused.
    """

    hit: bool
    generation: Generation
    active: PlatformConnection | None = None
    default: PlatformConnection | None = None
    requested: PlatformConnection | None = None

    @classmethod
    def miss(cls, generation: Generation) -> PlatformLookup:
        """Nothing usable cached."""
        return cls(hit=False, generation=generation)
