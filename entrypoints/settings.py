"""``Settings``: where the stores are and which routing key to use, from one place.

``bootstrap()`` and the command line both read the environment through
:meth:`Settings.from_environment`, so an operator command with the application's environment
acts on the application's store. Every value is checked as it is read; a value that does not
parse is an :class:`InvalidSetting` naming the variable (a malformed URL is reported as a
malformed URL, not as whatever is missing next).
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from attrs import evolve, field, frozen

from platform_sessions.domain.errors import InvalidInput, InvalidSetting
from platform_sessions.domain.policy import SessionPolicy
from platform_sessions.domain.routing import RoutingKey
from platform_sessions.entrypoints.policy_settings import policy_from_environment

# The SQL adapters' default (adapters/sqlalchemy/tables.py), not imported from there: that
# imports SQLAlchemy and Alembic, and reading settings (every CLI command, `--help`) must not.
# tests/test_imports.py checks that the two agree.
DEFAULT_TABLE_PREFIX = "ps_"

REDIS_URL_ENV = "PLATFORM_SESSIONS_REDIS_URL"
REDIS_CLUSTER_NODES_ENV = "PLATFORM_SESSIONS_REDIS_CLUSTER_NODES"
DATABASE_URL_ENV = "PLATFORM_SESSIONS_DATABASE_URL"
ROUTING_KEY_ENV = "PLATFORM_SESSIONS_ROUTING_KEY"
ROUTING_KEY_FILE_ENV = "PLATFORM_SESSIONS_ROUTING_KEY_FILE"
TABLE_PREFIX_ENV = "PLATFORM_SESSIONS_TABLE_PREFIX"

DEFAULT_DATABASE_FILE = "platform-sessions.sqlite3"
DEFAULT_DATABASE_URL = f"sqlite:///{DEFAULT_DATABASE_FILE}"
"""Where plain ``bootstrap()`` keeps everything: a SQLite file in the working directory."""

_REDIS_SCHEMES = ("redis", "rediss", "unix")


@frozen
class Settings:
    """Where user sessions and platform connections live, and the routing key.

    ``sources`` says where each value came from (``"PLATFORM_SESSIONS_REDIS_URL"``,
    ``"--redis-url"``, ``"routing_key="``), for messages. A ``Settings`` with no store at all
    means "not configured": ``bootstrap()`` then uses :data:`DEFAULT_DATABASE_URL`.
    """

    redis_url: str | None = None
    redis_cluster_nodes: tuple[tuple[str, int], ...] | None = None
    database_url: str | None = None
    routing_key: RoutingKey | None = field(default=None, repr=False)
    table_prefix: str = DEFAULT_TABLE_PREFIX
    # ``None``: the ``bootstrap(policy=...)`` argument, or the defaults (``policy_settings.py``).
    policy: SessionPolicy | None = None
    sources: Mapping[str, str] = field(factory=dict, repr=False)

    def __attrs_post_init__(self) -> None:
        if self.redis_url is not None and self.redis_cluster_nodes is not None:
            raise InvalidSetting(
                f"{self.source_of('redis_url')} and {self.source_of('redis_cluster_nodes')}",
                "give a Redis URL or cluster nodes, not both",
            )

    @classmethod
    def from_environment(cls, environ: Mapping[str, str] | None = None) -> Settings:
        """The settings the ``PLATFORM_SESSIONS_*`` variables give (empty ones count as unset),
        the session policy's included (``PLATFORM_SESSIONS_IDLE_TIMEOUT``...: see
        ``policy_settings.py``)."""
        env = os.environ if environ is None else environ

        def value(name: str) -> str | None:
            text = env.get(name, "").strip()
            return text or None

        sources: dict[str, str] = {}
        redis_url = value(REDIS_URL_ENV)
        if redis_url is not None:
            sources["redis_url"] = REDIS_URL_ENV
        nodes_text = value(REDIS_CLUSTER_NODES_ENV)
        if nodes_text is not None:
            sources["redis_cluster_nodes"] = REDIS_CLUSTER_NODES_ENV
        database_url = value(DATABASE_URL_ENV)
        if database_url is not None:
            sources["database_url"] = DATABASE_URL_ENV
        key = routing_key_from(value(ROUTING_KEY_ENV), value(ROUTING_KEY_FILE_ENV))
        if key is not None:
            sources["routing_key"] = key[1]
        prefix = value(TABLE_PREFIX_ENV)
        if prefix is not None:
            sources["table_prefix"] = TABLE_PREFIX_ENV
        return cls(
            redis_url=checked_redis_url(redis_url, REDIS_URL_ENV),
            redis_cluster_nodes=parsed_cluster_nodes(nodes_text, REDIS_CLUSTER_NODES_ENV),
            database_url=checked_database_url(database_url, DATABASE_URL_ENV),
            routing_key=None if key is None else key[0],
            table_prefix=DEFAULT_TABLE_PREFIX if prefix is None else checked_prefix(prefix, TABLE_PREFIX_ENV),
            policy=policy_from_environment(env),
            sources=sources,
        )

    @property
    def has_store(self) -> bool:
        """Whether any store is named (else the default applies)."""
        return self.has_redis or self.database_url is not None

    @property
    def has_redis(self) -> bool:
        return self.redis_url is not None or self.redis_cluster_nodes is not None

    def source_of(self, name: str) -> str:
        """Where the value ``name`` came from, for messages (the argument name by default)."""
        return self.sources.get(name, f"{name}=")

    def with_stores(
        self,
        *,
        redis_url: str | None,
        redis_cluster_nodes: Sequence[tuple[str, int]] | None,
        database_url: str | None,
    ) -> Settings:
        """These stores (``bootstrap``'s arguments) instead of whatever stores these settings
        named; the rest kept.

        Stores are replaced as a whole, never merged: code that names its store gets exactly
        that store, not that store combined with one from the environment.
        """
        sources = {k: v for k, v in self.sources.items() if k not in _STORE_FIELDS}
        given = {
            "redis_url": redis_url,
            "redis_cluster_nodes": redis_cluster_nodes,
            "database_url": database_url,
        }
        sources.update({name: f"{name}=" for name, value in given.items() if value is not None})
        return evolve(
            self,
            redis_url=checked_redis_url(redis_url, "redis_url="),
            redis_cluster_nodes=None if redis_cluster_nodes is None else _nodes(redis_cluster_nodes),
            database_url=checked_database_url(database_url, "database_url="),
            sources=sources,
        )

    def with_routing_key(self, key: RoutingKey, source: str) -> Settings:
        return evolve(self, routing_key=key, sources={**self.sources, "routing_key": source})

    def with_table_prefix(self, prefix: str, source: str) -> Settings:
        return evolve(
            self,
            table_prefix=checked_prefix(prefix, source),
            sources={**self.sources, "table_prefix": source},
        )


_STORE_FIELDS = ("redis_url", "redis_cluster_nodes", "database_url")


def _nodes(nodes: Sequence[tuple[str, int]]) -> tuple[tuple[str, int], ...]:
    return tuple((str(host), int(port)) for host, port in nodes)


def checked_redis_url(url: str | None, setting: str) -> str | None:
    """``url`` if redis-py can use it as a server URL; else :class:`InvalidSetting`."""
    if url is None:
        return None
    # redis-py's own parser, so that what passes here is what the client will accept.
    from redis.connection import parse_url

    try:
        parse_url(url)  # type: ignore[no-untyped-call]  # untyped in redis-py
        parts = urlsplit(url)
    except ValueError as error:
        raise InvalidSetting(setting, f"not a Redis URL ({error}): {redacted_url(url)}") from None
    if parts.scheme != "unix" and parts.path not in ("", "/") and not parts.path.lstrip("/").isdigit():
        raise InvalidSetting(
            setting, f"not a Redis URL (the path must be a database number): {redacted_url(url)}"
        )
    return url


def parsed_cluster_nodes(text: str | None, setting: str) -> tuple[tuple[str, int], ...] | None:
    """``"10.0.0.1:7000,10.0.0.2:7000"`` as (host, port) pairs; else :class:`InvalidSetting`."""
    if text is None:
        return None
    nodes = []
    for item in text.split(","):
        host, _, port = item.strip().rpartition(":")
        if not host or not port.isdigit() or not 0 < int(port) < 65536:
            raise InvalidSetting(
                setting, f"not a list of host:port pairs separated by commas: {item.strip()!r}"
            )
        nodes.append((host.strip("[]"), int(port)))
    return tuple(nodes)


def checked_database_url(url: str | None, setting: str) -> str | None:
    """``url`` if SQLAlchemy can parse it; else :class:`InvalidSetting`."""
    if url is None:
        return None
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        make_url(url)
    except (ArgumentError, ValueError) as error:
        raise InvalidSetting(setting, f"not a SQLAlchemy database URL ({error})") from None
    return url


def checked_prefix(prefix: str, setting: str) -> str:
    from platform_sessions.adapters.sqlalchemy.tables import checked_table_prefix

    try:
        return checked_table_prefix(prefix)
    except InvalidInput as error:
        raise InvalidSetting(setting, str(error)) from None


def routing_key_from(text: str | None, file: str | None) -> tuple[RoutingKey, str] | None:
    """The key given as text or in a file (and which variable gave it), or ``None``."""
    if text is not None and file is not None:
        raise InvalidSetting(f"{ROUTING_KEY_ENV} and {ROUTING_KEY_FILE_ENV}", "give one of them, not both")
    if text is not None:
        return routing_key_text(text, ROUTING_KEY_ENV), ROUTING_KEY_ENV
    if file is not None:
        return routing_key_file(file, ROUTING_KEY_FILE_ENV), ROUTING_KEY_FILE_ENV
    return None


def routing_key_text(text: str, setting: str) -> RoutingKey:
    try:
        return RoutingKey.from_text(text)
    except InvalidInput as error:
        raise InvalidSetting(setting, str(error)) from None


def routing_key_file(path: str, setting: str) -> RoutingKey:
    """The key in the file at ``path`` (surrounding whitespace ignored)."""
    try:
        text = Path(path).read_text(encoding="utf-8").strip()
    except (OSError, UnicodeDecodeError) as error:
        raise InvalidSetting(setting, f"cannot read the routing key file {path!r} ({error})") from None
    return routing_key_text(text, f"{setting} ({path})")


def redacted_url(url: str) -> str:
    """``url`` without its password, for printing and logs."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return "<unparsable URL>"
    if parts.password is None:
        return url
    host = parts.hostname or ""
    if port is not None:
        host = f"{host}:{port}"
    netloc = f"{parts.username or ''}:***@{host}"
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))


def described_database(url: str) -> str:
    """``url`` redacted, a relative SQLite path made absolute (so an operator sees which file)."""
    from sqlalchemy.engine import make_url

    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite" and parsed.database and parsed.database != ":memory:":
        return str(parsed.set(database=os.path.abspath(parsed.database)))
    return redacted_url(url)


STORAGES = ("two-tier", "memory", "sql", "redis", "fakeredis")


@frozen
class StoragePlan:
    """Which storage ``bootstrap`` builds from some settings, on which stores.

    ``redis_url`` / ``redis_cluster_nodes`` are ``None`` for an embedded fakeredis (``embedded``)
    or no Redis; ``database_url`` is ``None`` without a database. ``description`` is what the
    command line prints and ``health()`` reports (no passwords).
    """

    storage: str
    redis_url: str | None
    redis_cluster_nodes: tuple[tuple[str, int], ...] | None
    embedded_redis: bool
    database_url: str | None

    @property
    def has_redis_server(self) -> bool:
        return self.redis_url is not None or self.redis_cluster_nodes is not None

    @property
    def description(self) -> str:
        parts = []
        if self.redis_url is not None:
            parts.append(redacted_url(self.redis_url))
        elif self.redis_cluster_nodes is not None:
            parts.append("cluster " + ",".join(f"{host}:{port}" for host, port in self.redis_cluster_nodes))
        elif self.embedded_redis:
            parts.append("embedded fakeredis (this process only)")
        if self.database_url is not None:
            parts.append(described_database(self.database_url))
        if self.storage == "memory":
            parts.append("in this process only")
        return f"{self.storage} " + " + ".join(parts)


def plan_storage(settings: Settings, storage: str | None = None) -> StoragePlan:
    """The storage ``settings`` give, or ``storage`` on the stores of ``settings`` it takes.

    Without ``storage``: Redis and a database give ``"two-tier"``, one of them ``"redis"`` or
    ``"sql"``, neither the SQL storage on :data:`DEFAULT_DATABASE_URL`, which is right however
    many processes share it. ``storage="two-tier"`` without a Redis server is the embedded
    two-tier storage (fakeredis in this process in front of the database): one process only.
    """
    if storage is not None and storage not in STORAGES:
        raise InvalidInput(f"unknown storage {storage!r}")
    redis_url, nodes, database_url = settings.redis_url, settings.redis_cluster_nodes, settings.database_url
    has_redis = redis_url is not None or nodes is not None
    if storage is None:
        storage = "two-tier" if has_redis and database_url else "redis" if has_redis else "sql"
        database_url = database_url or (None if has_redis else DEFAULT_DATABASE_URL)
    if storage in ("memory", "fakeredis"):
        return StoragePlan(storage, None, None, storage == "fakeredis", None)
    if storage == "sql":
        if database_url is None:
            raise InvalidInput("storage='sql' needs a database_url")
        return StoragePlan("sql", None, None, False, database_url)
    if storage == "redis":
        if not has_redis:
            raise InvalidInput("storage='redis' needs a redis_url or redis_cluster_nodes")
        return StoragePlan("redis", redis_url, nodes, False, None)
    return StoragePlan("two-tier", redis_url, nodes, not has_redis, database_url or DEFAULT_DATABASE_URL)
