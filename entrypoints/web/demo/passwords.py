"""Password hashing for the demo's seeded users: scrypt from the standard library."""

from __future__ import annotations

import hashlib
import hmac
import secrets

from attrs import frozen

# scrypt's recommended interactive cost (RFC 7914 section 2): about 16 MiB and tens of ms.
_COST = 2**14
_BLOCK_SIZE = 8
_PARALLELISM = 1
_SALT_BYTES = 16
_KEY_BYTES = 32


@frozen(repr=False)
class PasswordHash:
    """A salted scrypt digest; the password itself is never kept."""

    salt: bytes
    digest: bytes


def _derive(password: str, salt: bytes) -> bytes:
    return hashlib.scrypt(
        password.encode("utf-8"), salt=salt, n=_COST, r=_BLOCK_SIZE, p=_PARALLELISM, dklen=_KEY_BYTES
    )


def hash_password(password: str) -> PasswordHash:
    """Hash ``password`` under a fresh random salt."""
    salt = secrets.token_bytes(_SALT_BYTES)
    return PasswordHash(salt=salt, digest=_derive(password, salt))


def verify_password(password: str, stored: PasswordHash) -> bool:
    """Whether ``password`` matches, compared in constant time."""
    return hmac.compare_digest(_derive(password, stored.salt), stored.digest)
