"""The encrypted upstream tokens and the vault keys they are under: their SQL, nothing else.

Writers lock the current key row FOR SHARE while they write under it, and a rotation takes it
FOR UPDATE to make another key current: once a rotation has switched keys, nothing is
written under the old one any more, so encrypting the old rows again leaves none behind.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Final, NamedTuple

from infra.postgres import Connection
from schemas.events import Digest, Sealed

__all__ = [
    "StoredToken",
    "VaultKeyRow",
    "add_current_key",
    "current_key",
    "erase",
    "held_keys",
    "load",
    "replace_ciphertexts",
    "retire_key",
    "under_key",
    "write",
]


class VaultKeyRow(NamedTuple):
    kid: str
    sealed_key: Sealed
    status: str


class StoredToken(NamedTuple):
    connection_id: str
    kind: str
    kid: str
    ciphertext: Sealed
    token_digest: Digest


_CURRENT: Final = """
SELECT kid, sealed_key, status FROM vault_keys WHERE status = 'current' FOR SHARE
"""
_HELD: Final = """
SELECT kid, sealed_key, status FROM vault_keys WHERE status <> 'retired' ORDER BY created_at
"""
_DEMOTE: Final = """
UPDATE vault_keys SET status = 'previous' WHERE status = 'current' RETURNING kid
"""
_ADD: Final = """
INSERT INTO vault_keys (kid, sealed_key, status, created_at) VALUES ($1, $2, 'current', $3)
"""
_WRITE: Final = """
INSERT INTO upstream_tokens (connection_id, kind, kid, ciphertext, token_digest, stored_at)
VALUES ($1, $2, $3, $4, $5, $6)
ON CONFLICT (connection_id, kind) DO UPDATE
SET kid = $3, ciphertext = $4, token_digest = $5, stored_at = $6
"""
_LOAD: Final = """
SELECT connection_id, kind, kid, ciphertext, token_digest FROM upstream_tokens
WHERE connection_id = $1
"""
_ERASE: Final = "DELETE FROM upstream_tokens WHERE connection_id = $1"
_UNDER: Final = """
SELECT connection_id, kind, kid, ciphertext, token_digest FROM upstream_tokens
WHERE kid = $1 ORDER BY connection_id, kind LIMIT $2 FOR UPDATE
"""
_REPLACE: Final = """
UPDATE upstream_tokens SET kid = $3, ciphertext = $4 WHERE connection_id = $1 AND kind = $2
"""
# Destroyed only once nothing is under it any more; the row stays to say it existed.
_RETIRE: Final = """
UPDATE vault_keys SET status = 'retired', sealed_key = NULL, retired_at = $2
WHERE kid = $1 AND status = 'previous'
  AND NOT EXISTS (SELECT 1 FROM upstream_tokens WHERE kid = $1)
"""


async def current_key(conn: Connection) -> VaultKeyRow | None:
    """The key to write under, locked against a rotation until the transaction ends."""
    row = await conn.fetchrow(_CURRENT)
    return None if row is None else VaultKeyRow(*row.values())


async def held_keys(conn: Connection) -> list[VaultKeyRow]:
    return [VaultKeyRow(*row.values()) for row in await conn.fetch(_HELD)]


async def add_current_key(
    conn: Connection, kid: str, sealed_key: Sealed, now: datetime
) -> str | None:
    """Make `kid` the current key; returns the key it replaces (now `previous`), if any."""
    demoted = await conn.fetchval(_DEMOTE)
    await conn.execute(_ADD, kid, sealed_key, now)
    return None if demoted is None else str(demoted)


async def write(conn: Connection, rows: Sequence[StoredToken], now: datetime) -> None:
    await conn.executemany(
        _WRITE,
        [(r.connection_id, r.kind, r.kid, r.ciphertext, r.token_digest, now) for r in rows],
    )


async def load(conn: Connection, connection_id: str) -> list[StoredToken]:
    return [StoredToken(*row.values()) for row in await conn.fetch(_LOAD, connection_id)]


async def erase(conn: Connection, connection_id: str) -> None:
    await conn.execute(_ERASE, connection_id)


async def under_key(conn: Connection, kid: str, limit: int) -> list[StoredToken]:
    """Up to `limit` tokens still under `kid`, locked for the rest of the transaction."""
    return [StoredToken(*row.values()) for row in await conn.fetch(_UNDER, kid, limit)]


async def replace_ciphertexts(conn: Connection, rows: Sequence[StoredToken]) -> None:
    await conn.executemany(_REPLACE, [(r.connection_id, r.kind, r.kid, r.ciphertext) for r in rows])


async def retire_key(conn: Connection, kid: str, now: datetime) -> bool:
    """Destroy `kid` if no token is under it any more."""
    return await conn.execute(_RETIRE, kid, now) == "UPDATE 1"
