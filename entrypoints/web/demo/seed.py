"""The demo's seeded users and their platform connections, with fresh passwords per run."""

from __future__ import annotations

import secrets

from attrs import frozen

from platform_sessions.domain.ids import UserId
from platform_sessions.entrypoints.facade import PlatformSessions
from platform_sessions.entrypoints.web.demo.accounts import DemoAccount, DemoAccounts
from platform_sessions.entrypoints.web.demo.passwords import hash_password


@frozen
class SeedPlatform:
    """A platform connection to create for a seeded user."""

    name: str
    platform_type: str
    instance_url: str
    username: str
    active: bool = True


@frozen
class SeedUser:
    """A seeded user and their connections (the first becomes the default)."""

    user_id: UserId
    display_name: str
    platforms: tuple[SeedPlatform, ...]


@frozen(repr=False)
class Credential:
    """A seeded user's demo password, printed once at start."""

    user_id: UserId
    password: str
    platform_names: tuple[str, ...]


SEED_USERS = (
    SeedUser(
        "alice",
        "Alice",
        (
            SeedPlatform("Mastodon", "mastodon", "https://mastodon.example", "alice"),
            SeedPlatform("Pixelfed", "pixelfed", "https://pixelfed.example", "alice_pics"),
            SeedPlatform("Work Mastodon", "mastodon", "https://work.example", "alice.w"),
            SeedPlatform("Old Friendica", "friendica", "https://friendica.example", "alice", active=False),
        ),
    ),
    SeedUser(
        "bob",
        "Bob",
        (
            SeedPlatform("Pixelfed", "pixelfed", "https://pixelfed.example", "bob"),
            SeedPlatform("Mastodon", "mastodon", "https://mastodon.example", "bobby"),
        ),
    ),
)


def _demo_password() -> str:
    # Readable, typeable, and new on every run, so no demo password is ever worth stealing.
    return "-".join(secrets.token_hex(3) for _ in range(3))


def seed_demo(
    sessions: PlatformSessions, users: tuple[SeedUser, ...] = SEED_USERS
) -> tuple[DemoAccounts, list[Credential]]:
    """Connect the users' platforms and give each a new password; returns the accounts and
    the passwords to print."""
    accounts: list[DemoAccount] = []
    credentials: list[Credential] = []
    for user in users:
        # Seeding twice (a persistent storage, a second run) keeps what is there.
        existing = {
            (p.platform_type, p.instance_url, p.username.lower())
            for p in sessions.list_platforms(user.user_id)
        }
        for seed in user.platforms:
            if (seed.platform_type, seed.instance_url, seed.username.lower()) in existing:
                continue
            platform = sessions.connect_platform(
                user.user_id,
                name=seed.name,
                platform_type=seed.platform_type,
                instance_url=seed.instance_url,
                username=seed.username,
            )
            if not seed.active:
                sessions.deactivate_platform(user.user_id, platform.id)
        password = _demo_password()
        accounts.append(DemoAccount(user.user_id, user.display_name, hash_password(password)))
        names = tuple(p.name + ("" if p.active else " (deactivated)") for p in user.platforms)
        credentials.append(Credential(user.user_id, password, names))
    return DemoAccounts(accounts), credentials
