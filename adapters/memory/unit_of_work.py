"""The in-memory unit of work: changes are staged and land only on commit."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime

import attrs

from platform_sessions.adapters.memory.platform_store import InMemoryPlatformStore, Rows
from platform_sessions.domain.errors import ConcurrentUpdate, PlatformNotFound
from platform_sessions.domain.ids import PlatformId, UserId
from platform_sessions.domain.platform import PlatformConnection
from platform_sessions.domain.ports import PlatformConnectionRepository, UnitOfWork

Operation = Callable[[Rows], None]


class InMemoryPlatformConnectionRepository(PlatformConnectionRepository):
    """Reads see the transaction's own writes over the state at its start."""

    def __init__(self, rows: Rows) -> None:
        self._rows = rows
        self.operations: list[Operation] = []

    def get(self, platform_id: PlatformId) -> PlatformConnection | None:
        return self._rows.get(platform_id)

    def list_for_user(self, user_id: UserId) -> Sequence[PlatformConnection]:
        return sorted(
            (p for p in self._rows.values() if p.user_id == user_id), key=lambda p: (p.name.lower(), p.id)
        )

    def add(self, platform: PlatformConnection) -> None:
        if platform.id in self._rows:
            raise ConcurrentUpdate(f"platform {platform.id!r} already exists")
        self._do(lambda rows: _insert(rows, platform))

    def update(self, platform: PlatformConnection) -> None:
        if platform.id not in self._rows:
            raise PlatformNotFound(f"no platform {platform.id!r}")
        self._do(lambda rows: _replace(rows, platform))

    def remove(self, platform_id: PlatformId) -> None:
        self._do(lambda rows: _delete(rows, platform_id))

    def stamp_last_used(self, platform_id: PlatformId, at: datetime) -> None:
        self._do(lambda rows: _stamp(rows, platform_id, at))

    def _do(self, operation: Operation) -> None:
        operation(self._rows)
        self.operations.append(operation)


def _insert(rows: Rows, platform: PlatformConnection) -> None:
    if platform.id in rows:
        raise ConcurrentUpdate(f"platform {platform.id!r} already exists")
    rows[platform.id] = platform


def _replace(rows: Rows, platform: PlatformConnection) -> None:
    if platform.id not in rows:
        raise ConcurrentUpdate(f"platform {platform.id!r} was removed concurrently")
    # Keep a concurrently stamped last_used_at, as an UPDATE of the other columns would.
    rows[platform.id] = attrs.evolve(platform, last_used_at=rows[platform.id].last_used_at)


def _delete(rows: Rows, platform_id: PlatformId) -> None:
    rows.pop(platform_id, None)


def _stamp(rows: Rows, platform_id: PlatformId, at: datetime) -> None:
    if platform_id in rows:
        rows[platform_id] = attrs.evolve(rows[platform_id], last_used_at=at)


class InMemoryUnitOfWork(UnitOfWork):
    """One transaction over an :class:`InMemoryPlatformStore`; see the port's docstring."""

    def __init__(self, store: InMemoryPlatformStore) -> None:
        super().__init__()
        self._store = store
        self._begin()

    def _begin(self) -> None:
        # A transaction reads the state at its start plus its own writes.
        self._repository = InMemoryPlatformConnectionRepository(dict(self._store.rows()))
        self.platforms = self._repository

    def _commit(self) -> None:
        operations = list(self._repository.operations)

        def replay(rows: Rows) -> None:
            for operation in operations:
                operation(rows)

        self._store.commit(replay)
        self._begin()

    def _rollback(self) -> None:
        if self._repository.operations:
            self._begin()
