"""Committing, and telling a commit that failed from one whose outcome is unknown.

When the connection breaks while COMMIT is on its way (the reply lost, the server killed, the
round-trip deadline passed), the transaction may have committed or not: the server may have
made it durable and died before answering, or never received the COMMIT. Reporting that as a
plain failure invites the caller to act as if nothing happened (a rotation's caller would keep
the old token, which the commit killed). It becomes :class:`CommitOutcomeUnknown` instead.

Before raising it on PostgreSQL, the lost transaction is *settled* where possible, so that the
caller's re-read tells the truth: the backend that served the lost connection (its pid was
noted when the transaction began, at no cost) is watched in ``pg_stat_activity`` until it is
gone or idle (its transaction is over, committed or rolled back). A backend still idle in its
transaction never received the COMMIT: it is terminated, which rolls that transaction back
(a commit already under way finishes first: the server holds off termination inside it).
Settling is skipped when the client's own deadline expired, as the network is silent then and
a settling query would only wait out the bound again.
"""

from __future__ import annotations

import logging
import time

from sqlalchemy import event, exc, text
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.orm import Session, SessionTransaction, sessionmaker

from platform_sessions.adapters.sqlalchemy.postgres_connections import TIMED_OUT_MARK
from platform_sessions.domain.errors import CommitOutcomeUnknown

logger = logging.getLogger(__name__)

BACKEND_PID = "platform_sessions_backend_pid"
SETTLE_POLL_S = 0.02
SETTLE_BOUND_S = 2.0
_BACKEND_STATE = text("SELECT state FROM pg_stat_activity WHERE pid = :pid")
_TERMINATE = text("SELECT pg_terminate_backend(:pid)")
_IDLE_IN_TRANSACTION = ("idle in transaction", "idle in transaction (aborted)")


def note_backends(database_sessions: sessionmaker[Session], engine: Engine) -> None:
    """Have every transaction of ``database_sessions`` note the PostgreSQL backend serving it."""
    if engine.dialect.name != "postgresql" or engine.dialect.driver != "psycopg":
        return

    @event.listens_for(database_sessions, "after_begin")
    def _note(session: Session, _transaction: SessionTransaction, connection: Connection) -> None:
        dbapi = connection.connection.dbapi_connection
        if dbapi is not None:
            session.info[BACKEND_PID] = dbapi.info.backend_pid


def commit(session: Session, action: str) -> None:
    """Commit ``session``'s transaction; a connection lost on the way is
    :class:`CommitOutcomeUnknown` (other failures are raised as they are, for
    :func:`translated_errors`)."""
    pid = session.info.pop(BACKEND_PID, None)
    bind = session.get_bind()
    try:
        session.commit()
    except exc.DBAPIError as error:
        if not error.connection_invalidated:
            raise  # the server answered: the transaction did not commit
        timed_out = TIMED_OUT_MARK in str(error.orig)
        settled = not timed_out and isinstance(bind, Engine) and _settle(bind, pid)
        raise CommitOutcomeUnknown(
            f"the SQL database lost its connection while committing ({action}): the change may "
            f"or may not be stored ({type(error.orig).__name__}: {_first_line(error.orig)})",
            settled=settled,
        ) from error


def _settle(engine: Engine, pid: int | None) -> bool:
    """Wait (briefly) until the lost transaction is over; whether it is."""
    if engine.dialect.name == "sqlite":
        return True  # a local commit: it either happened or not before the error came back
    if pid is None:
        return False
    deadline = time.monotonic() + SETTLE_BOUND_S
    try:
        with engine.connect() as pooled:
            connection = pooled.execution_options(isolation_level="AUTOCOMMIT")
            while time.monotonic() < deadline:
                state = connection.execute(_BACKEND_STATE, {"pid": pid}).scalar()
                if state is None or state == "idle":
                    return True
                if state in _IDLE_IN_TRANSACTION:
                    # Waiting for a COMMIT that will never come (its client is gone).
                    connection.execute(_TERMINATE, {"pid": pid})
                time.sleep(SETTLE_POLL_S)
    except exc.SQLAlchemyError:
        logger.warning("could not learn how a lost commit ended", exc_info=True)
    return False


def _first_line(error: BaseException | None) -> str:
    lines = str(error).strip().splitlines()
    return lines[0] if lines else ""
