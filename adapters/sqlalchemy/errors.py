"""Database errors as the domain names them: a conflict, or a store that cannot answer."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import exc

from platform_sessions.domain.errors import ConcurrentUpdate, StoreUnavailable

# Driver errors that say nothing about the data, only that the database could not be reached
# or did not answer in time (SQLite's "database is locked" after its busy timeout included).
_UNAVAILABLE = (exc.OperationalError, exc.InterfaceError)
UNDEFINED_TABLE = "42P01"


@contextmanager
def translated_errors(action: str) -> Iterator[None]:
    """Re-raise database errors met while doing ``action`` as domain errors.

    - a constraint violation (the one-default-per-user index, a duplicate id or token
      digest) is another writer's change winning: :class:`ConcurrentUpdate`;
    - an unreachable or broken database, or an exhausted pool: :class:`StoreUnavailable`.

    Messages name the driver's error but never the SQL parameters, which may hold a CSRF
    token; the original stays chained for the logs.
    """
    try:
        yield
    except exc.IntegrityError as error:
        raise ConcurrentUpdate(f"{action} conflicts with stored data ({_cause(error)})") from error
    except exc.DBAPIError as error:
        if _tables_missing(error):
            raise StoreUnavailable(
                f"the SQL database could not {action}: the platform-sessions tables are missing; "
                "run upgrade_database() (or bootstrap with migrate=True)"
            ) from error
        if isinstance(error, _UNAVAILABLE) or error.connection_invalidated:
            raise StoreUnavailable(f"the SQL database could not {action} ({_cause(error)})") from error
        raise
    except exc.TimeoutError as error:
        raise StoreUnavailable(
            f"the SQL database could not {action}: no pooled connection was free in time ({error})"
        ) from error


def _tables_missing(error: exc.DBAPIError) -> bool:
    # PostgreSQL says so with SQLSTATE 42P01 (undefined_table); SQLite only in words.
    original = error.orig
    return getattr(original, "sqlstate", None) == UNDEFINED_TABLE or str(original).startswith("no such table")


def _cause(error: exc.DBAPIError) -> str:
    # str(error) would include the statement and its parameters; the driver's own message
    # does not. Its first line is the informative one.
    original = error.orig
    detail = str(original).strip().splitlines()[0] if str(original).strip() else ""
    return f"{type(original).__name__}: {detail}" if detail else type(original).__name__
