"""The composition root: every provider of every storage builds, every storage opens into a
typed record, and ``bootstrap`` takes a builder as well as a name.

dependency-injector cannot tell mypy what a provider's keywords are, so a misspelled or
missing keyword in a ``*_storage.py`` container passes the type check; building every
provider here is what catches it (see the last tests: the checker catches its own examples).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import attrs
import pytest
from dependency_injector import containers, providers

from platform_sessions.adapters.memory import InMemoryEventPublisher, InMemoryUserSessionRepository
from platform_sessions.adapters.redis import RedisEndpoint, RedisOptions
from platform_sessions.adapters.sqlalchemy import create_sql_engine, sql_tables
from platform_sessions.adapters.two_tier import TwoTierSettings
from platform_sessions.application.storage_operations import StorageHealth, StorageOperations
from platform_sessions.domain.errors import InvalidInput
from platform_sessions.domain.policy import SessionPolicy
from platform_sessions.entrypoints import bootstrap
from platform_sessions.entrypoints.container import OpenStorage, Wiring
from platform_sessions.entrypoints.memory_storage import MemoryStorage, MemoryStorageBuilder
from platform_sessions.entrypoints.redis_storage import RedisStorageBuilder
from platform_sessions.entrypoints.sql_storage import SqlStorageBuilder
from platform_sessions.entrypoints.two_tier_storage import TwoTierStorageBuilder
from tests.builders import ROUTING_KEY, a_wiring
from tests.sql.databases import drop_tables, unique_prefix

QUIET = TwoTierSettings(run_relay=False, auto_rewarm=False)
FAST = RedisOptions(connect_timeout=0.5, read_timeout=0.5)
LEGS = ("memory", "sql", "fakeredis", "embedded two-tier", "redis", "two-tier")

# Each builder's container() and open(container=) take its own container type.
Builder = Any


@pytest.fixture(params=LEGS)
def builder(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Builder]:
    """Each built-in storage's builder, on its stores (servers for the last two legs)."""
    sqlite = SqlStorageBuilder(database_url=f"sqlite:///{tmp_path / 'root.db'}")
    fakeredis = RedisStorageBuilder(endpoint=RedisEndpoint.in_process())
    leg = request.param
    if leg == "memory":
        yield MemoryStorageBuilder()
    elif leg == "sql":
        yield sqlite
    elif leg == "fakeredis":
        yield fakeredis
    elif leg == "embedded two-tier":
        yield TwoTierStorageBuilder(redis=fakeredis, sql=sqlite, settings=QUIET)
    elif leg == "redis":
        yield RedisStorageBuilder(endpoint=RedisEndpoint.server(request.getfixturevalue("clean_redis_url")))
    else:
        url, prefix = request.getfixturevalue("postgres_url"), unique_prefix()
        yield TwoTierStorageBuilder(
            redis=RedisStorageBuilder(
                endpoint=RedisEndpoint.server(request.getfixturevalue("clean_redis_url")), options=FAST
            ),
            sql=SqlStorageBuilder(database_url=url, table_prefix=prefix, migrate=True),
            settings=QUIET,
        )
        engine = create_sql_engine(url)
        try:
            drop_tables(engine, sql_tables(prefix))
        finally:
            engine.dispose()


def every_provider(container: Any) -> Iterator[tuple[str, providers.Provider[Any]]]:
    """Every provider of ``container`` by name, nested containers' (two-tier's ``sql`` and
    ``redis``, Redis's ``platform_records``) included."""
    for name, provider in container.providers.items():
        yield name, provider
        if isinstance(provider, providers.Container):
            for inner, nested in every_provider(provider.container):
                yield f"{name}.{inner}", nested


def build_every_provider(container: Any) -> list[str]:
    """Call every provider of ``container``; the names of those built. A wrong keyword, a
    missing argument or a failed ``instance_of`` raises here, naming the provider."""
    built = []
    for name, provider in every_provider(container):
        try:
            provider()
        except Exception as error:
            raise AssertionError(f"provider {name!r} does not build: {error!r}") from error
        built.append(name)
    return built


def test_every_provider_of_every_storage_builds(builder: Builder, policy: SessionPolicy) -> None:
    wiring = a_wiring(policy=policy)
    container = builder.container(wiring)
    try:
        built = build_every_provider(container)
        assert {
            "user_sessions",
            "session_contexts",
            "platform_directory",
            "uow_factory",
            "event_publisher",
        } <= set(built)
    finally:
        builder.open(wiring, container=container).close()  # releases what the build opened


def test_every_storage_opens_into_a_typed_record_and_answers(builder: Builder, policy: SessionPolicy) -> None:
    storage = builder.open(a_wiring(policy=policy))
    try:
        assert isinstance(storage, OpenStorage)  # its fields were checked as it was built
        assert storage.operations.health().healthy
        with bootstrap_on(storage, policy) as sessions:
            started = sessions.start_session("alice")
            assert sessions.resolve(str(started.token)).session.user_id == "alice"
    finally:
        storage.close()
    storage.close()  # closing twice is harmless


def bootstrap_on(storage: OpenStorage, policy: SessionPolicy) -> Any:
    """``bootstrap`` with a builder that hands back ``storage``."""

    @attrs.frozen
    class Given:
        def open(self, wiring: Wiring) -> OpenStorage:
            return attrs.evolve(storage, close=lambda: None)  # the test closes it

    return bootstrap(storage=Given(), policy=policy, routing_key=ROUTING_KEY)


def test_rewarm_is_the_two_tier_storages_alone(builder: Builder, policy: SessionPolicy) -> None:
    storage = builder.open(a_wiring(policy=policy))
    try:
        if isinstance(builder, TwoTierStorageBuilder):
            assert storage.operations.rewarm() >= 0
        else:
            with pytest.raises(InvalidInput, match="two-tier"):
                storage.operations.rewarm()
    finally:
        storage.close()


class CountingOperations(StorageOperations):
    def health(self) -> StorageHealth:
        return StorageHealth(storage="mine", healthy=True)

    def rewarm(self, progress: Callable[[int, int], None] | None = None) -> int:
        return 7


@attrs.frozen
class ApplicationsOwnStorage:
    """A storage bootstrap has never heard of: the memory adapters and its own operations."""

    closed: list[bool] = attrs.field(factory=list)

    def open(self, wiring: Wiring) -> OpenStorage:
        memory = MemoryStorage(policy=wiring.policy)
        return OpenStorage(
            user_sessions=memory.user_sessions(),
            session_contexts=memory.session_contexts(),
            platform_directory=memory.platform_directory(),
            uow_factory=memory.uow_factory,
            event_publisher=wiring.event_publisher or memory.event_publisher(),
            clock=wiring.clock,
            operations=CountingOperations(),
            close=lambda: self.closed.append(True),
        )


def test_bootstrap_takes_a_storage_it_has_never_heard_of() -> None:
    mine = ApplicationsOwnStorage()
    with bootstrap(storage=mine) as sessions:
        started = sessions.start_session("alice")
        assert sessions.resolve(str(started.token)).session.user_id == "alice"
        assert (sessions.health().storage, sessions.rewarm()) == ("mine", 7)
    assert mine.closed == [True]


def test_bootstrap_gives_a_builder_the_policy_key_clock_and_publisher(clock: Any) -> None:
    publisher, policy = InMemoryEventPublisher(), SessionPolicy(max_sessions_per_user=3)
    seen: list[Wiring] = []

    @attrs.frozen
    class Watching:
        def open(self, wiring: Wiring) -> OpenStorage:
            seen.append(wiring)
            return MemoryStorageBuilder().open(wiring)

    with bootstrap(
        storage=Watching(), policy=policy, clock=clock, event_publisher=publisher, routing_key=ROUTING_KEY
    ):
        pass
    (wiring,) = seen
    assert (wiring.policy, wiring.clock, wiring.event_publisher, wiring.routing_key) == (
        policy,
        clock,
        publisher,
        ROUTING_KEY,
    )
    assert wiring.fingerprint == ROUTING_KEY.fingerprint()  # a given key is checked against the stores


def test_a_builder_takes_its_stores_itself() -> None:
    with pytest.raises(InvalidInput, match="database_url"):
        bootstrap(storage=MemoryStorageBuilder(), database_url="sqlite:///x.db")


def test_a_record_of_the_wrong_types_fails_where_it_is_built() -> None:
    memory = MemoryStorage(policy=SessionPolicy())
    with pytest.raises(TypeError, match="user_sessions"):
        OpenStorage(
            user_sessions=memory.platform_directory(),  # type: ignore[arg-type]
            session_contexts=memory.session_contexts(),
            platform_directory=memory.platform_directory(),
            uow_factory=memory.uow_factory,
            event_publisher=memory.event_publisher(),
            clock=a_wiring(policy=SessionPolicy()).clock,
            operations=CountingOperations(),
            close=lambda: None,
        )


class MisspelledKeyword(containers.DeclarativeContainer):
    """A provider as a typo would write it: mypy passes it (providers take ``**kwargs``)."""

    policy = providers.Dependency(instance_of=SessionPolicy)
    user_sessions = providers.Singleton(InMemoryUserSessionRepository, polcy=policy)


class WrongType(containers.DeclarativeContainer):
    """A provider given a value of the wrong type where a ``Dependency`` says what it takes."""

    policy = providers.Dependency(instance_of=SessionPolicy)
    user_sessions = providers.Singleton(InMemoryUserSessionRepository, policy=policy)


def test_building_every_provider_catches_a_misspelled_keyword() -> None:
    with pytest.raises(AssertionError, match=r"'user_sessions' does not build.*polcy"):
        build_every_provider(MisspelledKeyword(policy=SessionPolicy()))


def test_building_every_provider_catches_a_wrong_type() -> None:
    with pytest.raises(AssertionError, match="'policy' does not build"):
        build_every_provider(WrongType(policy="two hours"))
