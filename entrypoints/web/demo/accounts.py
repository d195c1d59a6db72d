"""The demo's user accounts: a stand-in for the application's own users and login check."""

from __future__ import annotations

from collections.abc import Iterable

from attrs import frozen

from platform_sessions.domain.ids import UserId
from platform_sessions.entrypoints.web.demo.passwords import PasswordHash, hash_password, verify_password


@frozen
class DemoAccount:
    """A user of the demo, with a hashed password."""

    user_id: UserId
    display_name: str
    password_hash: PasswordHash


class DemoAccounts:
    """Checks user names and passwords, as any application does before starting a session."""

    def __init__(self, accounts: Iterable[DemoAccount]) -> None:
        self._by_id = {account.user_id: account for account in accounts}
        # Unknown names are checked against this, so they take as long as known ones.
        self._decoy = hash_password("decoy")

    def authenticate(self, user_id: str, password: str) -> DemoAccount | None:
        """The account if the password is right, else ``None``."""
        account = self._by_id.get(user_id.strip().lower())
        matches = verify_password(password, account.password_hash if account else self._decoy)
        return account if account is not None and matches else None

    def display_name(self, user_id: UserId) -> str:
        """How the demo greets a user."""
        account = self._by_id.get(user_id)
        return account.display_name if account else user_id
