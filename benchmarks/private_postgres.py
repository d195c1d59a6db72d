"""A PostgreSQL schema of our own in the given database, migrated, dropped afterwards.

Tests use their own random schemas in the same database; a benchmark schema (``bench_<hex>``)
keeps a million purge rows and the operation rows out of everyone's way, and its connections
find it through ``search_path``, so the library's default table names (``ps_*``) are used.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from platform_sessions.adapters.sqlalchemy import upgrade_database

DROP_LOCK_TIMEOUT = "10s"


def url_with_search_path(database_url: str, schema: str) -> str:
    """``database_url`` whose every connection starts in ``schema`` (a libpq startup option)."""
    url = make_url(database_url).update_query_dict({"options": f"-csearch_path={schema}"})
    return url.render_as_string(hide_password=False)


@contextmanager
def private_schema(database_url: str) -> Iterator[str]:
    """The URL of a new, migrated schema in ``database_url``'s database; dropped on exit."""
    schema = f"bench_{secrets.token_hex(6)}"
    admin = create_engine(database_url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            connection.execute(text(f'CREATE SCHEMA "{schema}"'))
        try:
            url = url_with_search_path(database_url, schema)
            upgrade_database(url)
            yield url
        finally:
            with admin.connect() as connection:
                connection.execute(text(f"SET lock_timeout = '{DROP_LOCK_TIMEOUT}'"))
                connection.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
    finally:
        admin.dispose()
