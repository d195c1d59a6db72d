"""Database sessions: the process's one ``sessionmaker`` and short transactions from it."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

from platform_sessions.adapters.sqlalchemy.commit_outcome import commit, note_backends
from platform_sessions.adapters.sqlalchemy.errors import translated_errors
from platform_sessions.adapters.sqlalchemy.sqlite_connections import READ_ONLY_OPTION

DatabaseSessionFactory = sessionmaker[Session]


def database_session_factory(engine: Engine) -> DatabaseSessionFactory:
    """The process's one ``sessionmaker``, shared by every SQL adapter.

    - ``close_resets_only=False``: a closed session refuses further use instead of quietly
      checking out a new connection that nobody would close;
    - ``expire_on_commit=False``: rows are translated to domain entities before commit, and
      nothing should reload after it;
    - ``autoflush=False``: the adapters run explicit statements, nothing is pending.

    On PostgreSQL each transaction notes its backend, so that a commit whose connection is lost
    can be settled (:mod:`commit_outcome`).
    """
    database_sessions = sessionmaker(
        bind=engine, autoflush=False, expire_on_commit=False, close_resets_only=False
    )
    note_backends(database_sessions, engine)
    return database_sessions


def begin_read_only(session: Session) -> None:
    """Start ``session``'s transaction as one that only reads.

    On SQLite it begins deferred, so readers never queue for the write lock; elsewhere it
    changes nothing. Must be the first thing done in the transaction.
    """
    session.connection(execution_options={READ_ONLY_OPTION: True})


@contextmanager
def short_transaction(
    database_sessions: DatabaseSessionFactory, action: str, *, read_only: bool = False
) -> Iterator[Session]:
    """One database session and one transaction around a block: committed if the block
    returns, rolled back if it raises, the session closed (its connection back in the pool)
    either way. Database errors come out as domain errors naming ``action``; a connection lost
    while committing a write is :class:`CommitOutcomeUnknown`."""
    with translated_errors(action), database_sessions() as session:
        session.begin()
        if read_only:
            begin_read_only(session)
        yield session  # an error rolls back: closing the session does
        if read_only:
            session.commit()  # nothing was written: whatever happens here changes nothing
        else:
            commit(session, action)
