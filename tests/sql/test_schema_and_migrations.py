"""The shipped migrations build exactly the models' schema, under any prefix, on both databases."""

from __future__ import annotations

from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect, text
from sqlalchemy.engine import Connection

from platform_sessions.adapters.sqlalchemy import (
    SqlAlchemyUnitOfWork,
    SqlAlchemyUserSessionRepository,
    downgrade_schema,
    sql_tables,
    upgrade_database,
    upgrade_schema,
)
from platform_sessions.adapters.sqlalchemy.tables import SqlTables, checked_table_prefix
from platform_sessions.domain.errors import ConcurrentUpdate, InvalidInput
from tests.builders import a_platform, a_session
from tests.sql.databases import KINDS, SqlDatabase, database_url, migrated_database, unique_prefix
from tests.sql.threads import run_at_once


def schema_differences(connection: Connection, tables: SqlTables) -> list[object]:
    """What alembic's autogenerate would change to make the database match the models."""
    ours = set(tables.metadata.tables)

    def only_ours(name: str | None, type_: str, _parent: object) -> bool:
        # The shared PostgreSQL schema holds other tests' tables; compare this prefix's only.
        return type_ != "table" or name in ours

    context = MigrationContext.configure(
        connection, opts={"include_name": only_ours, "compare_type": True, "compare_server_default": True}
    )
    return list(compare_metadata(context, tables.metadata))


def test_the_migrated_schema_is_the_models_schema(sql_database: SqlDatabase):
    with sql_database.engine.connect() as connection:
        assert schema_differences(connection, sql_database.tables) == []


def test_the_one_default_index_is_partial_and_unique_as_modelled(sql_database: SqlDatabase):
    # Autogenerate does not compare an index's WHERE clause; check it here.
    table = f"{sql_database.prefix}platform_connections"
    reflected = {ix["name"]: ix for ix in inspect(sql_database.engine).get_indexes(table)}
    one_default = reflected[f"ux_{table}_one_default"]
    assert one_default["column_names"] == ["user_id"]
    assert one_default["unique"]
    where_key = "postgresql_where" if sql_database.kind == "postgresql" else "sqlite_where"
    assert str(one_default["dialect_options"][where_key]).strip("()") == "is_default"


def test_the_database_refuses_a_second_default_even_behind_the_use_cases_back(sql_database: SqlDatabase):
    with SqlAlchemyUnitOfWork(sql_database.sessions, sql_database.tables) as uow:
        uow.platforms.add(a_platform(user_id="zoe", is_default=True))
        uow.platforms.add(a_platform(user_id="zoe"))
        uow.platforms.add(a_platform(user_id="yann", is_default=True))  # another user: fine
        uow.commit()
    with (
        pytest.raises(ConcurrentUpdate),
        SqlAlchemyUnitOfWork(sql_database.sessions, sql_database.tables) as uow,
    ):
        uow.platforms.add(a_platform(user_id="zoe", is_default=True))


def test_every_object_is_named_with_the_prefix(sql_database: SqlDatabase):
    inspector = inspect(sql_database.engine)
    prefix = sql_database.prefix
    names = {name for name in inspector.get_table_names() if name.startswith(prefix)}
    assert names == {
        f"{prefix}platform_connections",
        f"{prefix}user_sessions",
        f"{prefix}outbox",
        f"{prefix}deployment",  # revision 0003: the routing key's fingerprint
        f"{prefix}session_data",  # revision 0004: one row per key of a session's data
        f"{prefix}alembic_version",
    }
    for table in names - {f"{prefix}alembic_version"}:
        assert all(prefix in (index["name"] or "") for index in inspector.get_indexes(table))
        assert all(prefix in (uq["name"] or "") for uq in inspector.get_unique_constraints(table))


def test_upgrading_again_changes_nothing(sql_database: SqlDatabase):
    upgrade_schema(sql_database.engine, table_prefix=sql_database.prefix)
    with sql_database.engine.connect() as connection:
        assert schema_differences(connection, sql_database.tables) == []
        version = connection.execute(text(f"SELECT version_num FROM {sql_database.tables.version_table}"))
        assert version.scalars().all() == ["0004"]


def test_a_downgrade_drops_the_tables_and_an_upgrade_brings_them_back(sql_database: SqlDatabase):
    downgrade_schema(sql_database.engine, table_prefix=sql_database.prefix)
    remaining = set(inspect(sql_database.engine).get_table_names())
    assert not remaining & set(sql_database.tables.metadata.tables)
    upgrade_schema(sql_database.engine, table_prefix=sql_database.prefix)
    with sql_database.engine.connect() as connection:
        assert schema_differences(connection, sql_database.tables) == []


def test_two_prefixes_share_one_database_without_touching_each_other(
    sql_database: SqlDatabase, policy, clock
):
    with migrated_database(sql_database.kind, sql_database.url) as other:
        for database in (sql_database, other):
            with database.engine.connect() as connection:
                assert schema_differences(connection, database.tables) == []
        mine = SqlAlchemyUserSessionRepository(sql_database.sessions, sql_database.tables, policy)
        theirs = SqlAlchemyUserSessionRepository(other.sessions, other.tables, policy)
        session = a_session(now=clock.now(), policy=policy)
        mine.create(session, max_sessions=5)
        assert mine.get(session.token_digest) == session
        assert theirs.get(session.token_digest) is None
        assert sql_tables(sql_database.prefix) is sql_database.tables  # one mapping per prefix


def test_upgrade_database_takes_a_url_and_builds_the_schema(tmp_path: Path):
    url = f"sqlite:///{tmp_path / 'fresh.db'}"
    upgrade_database(url, table_prefix="fresh_")
    with (
        migrated_database("sqlite", url, prefix="fresh_") as database,
        database.engine.connect() as connection,
    ):
        assert schema_differences(connection, database.tables) == []


@pytest.mark.parametrize("prefix", ["", "ps_", "a", "app_sessions_2_"])
def test_table_prefixes_may_be_empty_or_a_short_lowercase_identifier(prefix: str):
    assert checked_table_prefix(prefix) == prefix


@pytest.mark.parametrize("prefix", ["Ps_", "1ps_", "ps-", "ps_; DROP TABLE x", "p" * 25, None])
def test_other_table_prefixes_are_refused(prefix: object):
    with pytest.raises(InvalidInput):
        checked_table_prefix(prefix)


@pytest.mark.parametrize("kind", KINDS)
def test_processes_upgrading_at_once_take_turns(request: pytest.FixtureRequest, tmp_path: Path, kind: str):
    url = database_url(request, kind, tmp_path)
    prefix = unique_prefix()
    outcomes = run_at_once(4, lambda _index: upgrade_database(url, table_prefix=prefix))
    assert outcomes == [None] * 4, outcomes
    with migrated_database(kind, url, prefix=prefix) as database, database.engine.connect() as connection:
        assert schema_differences(connection, database.tables) == []
