"""The tables, as SQLAlchemy 2.0 typed mappings, under a configurable name prefix.

The domain knows nothing of them: rows are translated to and from domain entities explicitly
(``platform_records``, ``session_records``). The columns are declared once, in mixins; each
table prefix gets its own declarative base, metadata and mapped classes from
:func:`sql_tables`, so several prefixes (an application's test suite, two deployments in one
database) coexist in one process without their mappings colliding.

No foreign key points at a users table: the application owns its users, and the library must
sit beside any schema. Nor does ``user_sessions.active_platform_id`` reference
``platform_connections``: a removed platform is moved off sessions by the use cases with
versioned writes (an ``ON DELETE SET NULL`` would change sessions behind their version, and
a cache in front of the database would never hear of it), and every read re-validates it.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, Index, Integer, MetaData, String, Text, true
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from platform_sessions.adapters.sqlalchemy.column_types import UtcDateTime
from platform_sessions.domain.client import MAX_IP_ADDRESS, MAX_USER_AGENT
from platform_sessions.domain.errors import InvalidInput
from platform_sessions.domain.ids import MAX_ID_LENGTH
from platform_sessions.domain.platform import MAX_NAME, MAX_URL
from platform_sessions.domain.session_data import MAX_KEY_LENGTH
from platform_sessions.domain.token import ROUTING_TAG_LENGTH

DEFAULT_TABLE_PREFIX = "ps_"
# Lowercase so PostgreSQL never needs quoting; short so that every derived index name stays
# under PostgreSQL's 63-character identifier limit.
_TABLE_PREFIX = re.compile(r"([a-z][a-z0-9_]{0,23})?")

# Index names are schema-wide in PostgreSQL, so they embed the (prefixed) table name.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

SESSION_ID_LENGTH = 64
DIGEST_LENGTH = 64
CSRF_TOKEN_LENGTH = 255
PLATFORM_TYPE_LENGTH = 32


class PlatformConnectionColumns:
    """Columns of ``<prefix>platform_connections``: a ``PlatformConnection`` plus audit times."""

    id: Mapped[str] = mapped_column(String(MAX_ID_LENGTH), primary_key=True)
    user_id: Mapped[str] = mapped_column(String(MAX_ID_LENGTH), index=True)
    name: Mapped[str] = mapped_column(String(MAX_NAME))
    platform_type: Mapped[str] = mapped_column(String(PLATFORM_TYPE_LENGTH))
    instance_url: Mapped[str] = mapped_column(String(MAX_URL))
    username: Mapped[str] = mapped_column(String(MAX_ID_LENGTH))
    is_active: Mapped[bool] = mapped_column(Boolean)
    is_default: Mapped[bool] = mapped_column(Boolean)
    last_used_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime())


class UserSessionColumns:
    """Columns of ``<prefix>user_sessions``: the durable record of a ``UserSession``.

    ``expires_at`` is derived, min(last_seen_at + idle timeout, absolute_expires_at), and
    rewritten by every write that moves ``last_seen_at``: an index on it is what lets purge
    and listing find expired rows without computing anything per row. It uses the anonymous
    idle timeout for a visitor's session (``user_id`` NULL).

    ``data_bytes`` is the size of the session's data (the sum of its ``session_data`` rows'
    ``size``), kept with every data write: a read of a session without data costs no second
    query, and a write checks the total without summing.
    """

    session_id: Mapped[str] = mapped_column(String(SESSION_ID_LENGTH), primary_key=True)
    token_digest: Mapped[str] = mapped_column(String(DIGEST_LENGTH), unique=True)
    # Part of the domain's TokenDigest (in the clear in the cookie anyway, so not a secret).
    token_routing_tag: Mapped[str] = mapped_column(String(ROUTING_TAG_LENGTH))
    user_id: Mapped[str | None] = mapped_column(String(MAX_ID_LENGTH), index=True)
    active_platform_id: Mapped[str | None] = mapped_column(String(MAX_ID_LENGTH))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    last_seen_at: Mapped[datetime] = mapped_column(UtcDateTime())
    absolute_expires_at: Mapped[datetime] = mapped_column(UtcDateTime())
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime(), index=True)
    version: Mapped[int] = mapped_column(Integer)
    csrf_token: Mapped[str] = mapped_column(String(CSRF_TOKEN_LENGTH))
    user_agent: Mapped[str] = mapped_column(String(MAX_USER_AGENT))
    ip_address: Mapped[str] = mapped_column(String(MAX_IP_ADDRESS))
    # Any: what the engine's lenient JSON decoder gives back, checked when translated.
    attributes: Mapped[Any] = mapped_column(JSON)
    # Server defaults: rows written by tools that predate revision 0004 (bulk loaders, the
    # upgrade itself) are sessions with a persistent cookie and no data.
    persistent_cookie: Mapped[bool] = mapped_column(Boolean, server_default=true())
    data_bytes: Mapped[int] = mapped_column(Integer, server_default="0")


class SessionDataColumns:
    """Columns of ``<prefix>session_data``: one row per key of a session's data.

    ``value`` is the value's canonical JSON text (never pickle); ``size`` what the key counts
    towards the data's size limit. No foreign key: rows go with their session in the same
    statements that delete it (a SQLite foreign key would need a pragma on every connection,
    and would empty this table whenever a migration rebuilds ``user_sessions``).
    """

    session_id: Mapped[str] = mapped_column(String(SESSION_ID_LENGTH), primary_key=True)
    key: Mapped[str] = mapped_column(String(MAX_KEY_LENGTH), primary_key=True)
    value: Mapped[str] = mapped_column(Text)
    size: Mapped[int] = mapped_column(Integer)


class OutboxColumns:
    """Columns of ``<prefix>outbox``: Redis work a committed change still owes (two-tier storage).

    A row is written in the same transaction as the change it describes and deleted once
    Redis has been brought in line; ``kind`` says what to bring in line ("session": the
    session under ``token_digest``; "platforms": ``user_id``'s platform cache).
    ``absolute_expires_at`` bounds how long a tombstone for the digest must last.
    """

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    kind: Mapped[str] = mapped_column(String(16))
    # NULL for a visitor's session (issue 15: anonymous sessions have no user).
    user_id: Mapped[str | None] = mapped_column(String(MAX_ID_LENGTH))
    token_digest: Mapped[str | None] = mapped_column(String(DIGEST_LENGTH))
    token_routing_tag: Mapped[str | None] = mapped_column(String(ROUTING_TAG_LENGTH))
    absolute_expires_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), index=True)


class DeploymentColumns:
    """Columns of ``<prefix>deployment``: facts about the deployment kept beside the data.

    One row per ``name``; today only ``routing_key_fingerprint`` (see ``RoutingKey.fingerprint``),
    written by the first process and compared by every later one.
    """

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(String(255))


@dataclass(frozen=True)
class SqlTables:
    """The mapped tables of one prefix: what every SQL adapter is built with."""

    prefix: str
    metadata: MetaData
    platform_connections: type[PlatformConnectionColumns]
    user_sessions: type[UserSessionColumns]
    session_data: type[SessionDataColumns]
    outbox: type[OutboxColumns]
    deployment: type[DeploymentColumns]

    @property
    def version_table(self) -> str:
        """Alembic's bookkeeping table for this prefix (an application may have its own)."""
        return f"{self.prefix}alembic_version"


def checked_table_prefix(prefix: object) -> str:
    """``prefix`` if it is empty or a lowercase identifier of at most 24 characters."""
    if not isinstance(prefix, str) or not _TABLE_PREFIX.fullmatch(prefix):
        raise InvalidInput(
            "a table prefix is empty or up to 24 lowercase letters, digits and underscores, "
            "starting with a letter (e.g. 'ps_')"
        )
    return prefix


def one_default_index_name(prefix: str) -> str:
    """Name of the partial unique index that allows one default platform per user."""
    return f"ux_{prefix}platform_connections_one_default"


@functools.cache
def sql_tables(prefix: str = DEFAULT_TABLE_PREFIX) -> SqlTables:
    """The tables named with ``prefix``, mapped once per process and prefix."""
    checked_table_prefix(prefix)

    class Base(DeclarativeBase):
        metadata = MetaData(naming_convention=NAMING_CONVENTION)

    class PlatformConnectionRow(PlatformConnectionColumns, Base):
        __tablename__ = f"{prefix}platform_connections"

    class UserSessionRow(UserSessionColumns, Base):
        __tablename__ = f"{prefix}user_sessions"

    class SessionDataRow(SessionDataColumns, Base):
        __tablename__ = f"{prefix}session_data"

    class OutboxRow(OutboxColumns, Base):
        __tablename__ = f"{prefix}outbox"

    class DeploymentRow(DeploymentColumns, Base):
        __tablename__ = f"{prefix}deployment"

    # "At most one default per user", enforced by the database too: a partial unique index,
    # which both PostgreSQL and SQLite support. Listed here rather than in the mixin because
    # its WHERE clause needs the mapped column.
    Index(
        one_default_index_name(prefix),
        PlatformConnectionRow.user_id,
        unique=True,
        postgresql_where=PlatformConnectionRow.is_default,
        sqlite_where=PlatformConnectionRow.is_default,
    )
    return SqlTables(
        prefix, Base.metadata, PlatformConnectionRow, UserSessionRow, SessionDataRow, OutboxRow, DeploymentRow
    )
