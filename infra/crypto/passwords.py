"""User passwords as argon2id PHC strings, and a dummy verification for unknown usernames."""

from __future__ import annotations

import functools
import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from schemas.events import PasswordHash

__all__ = ["hash_password", "verify_against_dummy", "verify_password"]

# OWASP's argon2id minimum (19 MiB, 2 passes, 1 lane): memory-hard yet ~40 ms, so a login
# burst cannot exhaust the server. RFC 9106's low-memory profile (64 MiB, 4 lanes) took ~160 ms.
_HASHER = PasswordHasher(time_cost=2, memory_cost=19 * 1024, parallelism=1)


def hash_password(password: str) -> PasswordHash:
    return PasswordHash(_HASHER.hash(password))


def verify_password(stored: PasswordHash, password: str) -> bool:
    """False on a mismatch or an unreadable stored hash; never raises for either."""
    try:
        return _HASHER.verify(stored, password)
    except (VerificationError, InvalidHashError):
        return False


@functools.cache
def _dummy_hash() -> str:
    # Made with the current parameters, so a dummy verification costs what a real one does.
    return _HASHER.hash(secrets.token_urlsafe(16))


def verify_against_dummy(password: str) -> None:
    """Spend a real verification's time for an unknown username: timing hides which exist."""
    verify_password(PasswordHash(_dummy_hash()), password)
