"""The token vault: upstream tokens encrypted under vault keys, and the rotation of those keys.

Vault keys are random 256-bit AES-GCM keys, each sealed under the master key in `vault_keys`.
Tokens are written under the current key in the caller's transaction (the one appending the
event that names their digests). A rotation makes a new key current, encrypts every token
again under it, batch by batch, then destroys the old key: no ciphertext outlives its key.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Final

import asyncpg
import msgspec

from infra.crypto.digests import token_digest
from infra.crypto.sealing import Sealer
from infra.crypto.secret import Secret
from infra.crypto.token_vault import TokenKind, VaultKeys, key_context, new_vault_key
from infra.postgres import Connection, upstream_tokens
from infra.postgres.event_store import NEW_STREAM, EventStore, StreamAppend
from infra.postgres.upstream_tokens import StoredToken
from schemas.envelope import Metadata
from schemas.events import Digest, Sealed, VaultKeyCreated, VaultKeyRetired
from services.commands import new_events, random_id, utcnow

__all__ = ["HeldTokens", "KeyRotation", "TokenVault"]

# One vault key change at a time across replicas and CLI runs.
_VAULT_LOCK: Final = 0x6B6C_766B  # "klvk"
_REENCRYPT_BATCH: Final = 500
_FIRST_KEY: Final = Metadata(actor="system", actor_id="vault")


@dataclass(frozen=True, slots=True)
class HeldTokens:
    """A connection's upstream tokens, decrypted, with the digests stored beside them."""

    access: Secret | None
    refresh: Secret | None
    access_digest: Digest | None
    refresh_digest: Digest | None


class KeyRotation(msgspec.Struct, frozen=True, kw_only=True):
    kid: str
    retired: list[str]
    reencrypted: int


def _stream(kid: str) -> str:
    return f"vault_key-{kid}"


class TokenVault:
    """Seals and opens upstream tokens; vault keys are unsealed once per process."""

    def __init__(self, pool: asyncpg.Pool, master: Sealer, store: EventStore) -> None:
        self._pool = pool
        self._master = master
        self._store = store
        self._keys: dict[str, bytes] = {}

    def _unsealed(self, kid: str, sealed: Sealed) -> bytes:
        key = self._keys.get(kid)
        if key is None:
            key = self._keys[kid] = self._master.open(sealed, context=key_context(kid))
        return key

    async def _ring(self, conn: Connection) -> VaultKeys:
        """Every key still held; the current one locked against a rotation (FOR SHARE)."""
        current = await upstream_tokens.current_key(conn)
        if current is None:
            current = await self._first_key(conn)
        keys = {
            row.kid: self._unsealed(row.kid, row.sealed_key)
            for row in await upstream_tokens.held_keys(conn)
        }
        keys[current.kid] = self._unsealed(current.kid, current.sealed_key)
        return VaultKeys(keys, current.kid)

    async def store(
        self,
        conn: Connection,
        connection_id: str,
        *,
        access: Secret,
        refresh: Secret | None,
        now: datetime,
    ) -> None:
        """Write the tokens in the caller's transaction; a refresh token of None is kept."""
        ring = await self._ring(conn)
        tokens: list[tuple[TokenKind, Secret]] = [("access", access)]
        if refresh is not None:
            tokens.append(("refresh", refresh))
        rows = [
            StoredToken(
                connection_id, kind, ring.current,
                ring.encrypt(token, connection_id=connection_id, kind=kind),
                token_digest(token.reveal()),
            )
            for kind, token in tokens
        ]  # fmt: skip
        await upstream_tokens.write(conn, rows, now)

    async def erase(self, conn: Connection, connection_id: str) -> None:
        await upstream_tokens.erase(conn, connection_id)

    async def held(self, connection_id: str) -> HeldTokens:
        """The connection's tokens in clear, for the one request that needs them."""
        async with self._pool.acquire() as conn, conn.transaction():
            rows = await upstream_tokens.load(conn, connection_id)
            ring = await self._ring(conn) if rows else None
        opened: dict[str, tuple[Secret, Digest]] = {}
        for row in rows:
            assert ring is not None
            kind: TokenKind = "access" if row.kind == "access" else "refresh"
            secret = ring.decrypt(row.ciphertext, connection_id=connection_id, kind=kind)
            opened[row.kind] = (secret, row.token_digest)
        access, refresh = opened.get("access"), opened.get("refresh")
        return HeldTokens(
            access=access[0] if access else None,
            refresh=refresh[0] if refresh else None,
            access_digest=access[1] if access else None,
            refresh_digest=refresh[1] if refresh else None,
        )

    async def _first_key(self, conn: Connection) -> upstream_tokens.VaultKeyRow:
        """The first token to store makes the first key, in its own transaction: the vault
        exists only once a token does, and the log says when its key came."""
        await conn.execute("SELECT pg_advisory_xact_lock($1)", _VAULT_LOCK)
        current = await upstream_tokens.current_key(conn)  # made meanwhile by another?
        if current is None:
            await self._add_key(conn, self._store, _FIRST_KEY)
            current = await upstream_tokens.current_key(conn)
        assert current is not None
        return current

    async def _add_key(self, conn: Connection, store: EventStore, metadata: Metadata) -> str:
        kid, now = f"vk-{random_id()[:16]}", utcnow()
        key = new_vault_key()
        sealed = self._master.seal(key, context=key_context(kid))
        await upstream_tokens.add_current_key(conn, kid, sealed, now)
        self._keys[kid] = key
        events = new_events([VaultKeyCreated(kid=kid)], metadata, now)
        await store.append_all([StreamAppend(_stream(kid), NEW_STREAM, events)], conn=conn)
        return kid

    async def rotate(self, store: EventStore, metadata: Metadata) -> KeyRotation:
        """A new current key; every token encrypted again under it; every older key destroyed."""
        async with self._pool.acquire() as conn:
            async with conn.transaction():
                await conn.execute("SELECT pg_advisory_xact_lock($1)", _VAULT_LOCK)
                # FOR UPDATE on the current key row waits for writers holding it FOR SHARE.
                await conn.execute("SELECT kid FROM vault_keys WHERE status = 'current' FOR UPDATE")
                kid = await self._add_key(conn, store, metadata)
            store.committed()
            previous = [row.kid for row in await upstream_tokens.held_keys(conn) if row.kid != kid]
            total, retired = 0, []
            for old in previous:
                count = await self._reencrypt(conn, old)
                total += count
                if await self._retire(
                    conn, store, old, successor=kid, count=count, metadata=metadata
                ):
                    retired.append(old)
        return KeyRotation(kid=kid, retired=retired, reencrypted=total)

    async def _reencrypt(self, conn: Connection, old: str) -> int:
        """Every token under `old` again under the current key, one batch per transaction."""
        count = 0
        while True:
            async with conn.transaction():
                rows = await upstream_tokens.under_key(conn, old, _REENCRYPT_BATCH)
                if not rows:
                    return count
                ring = await self._ring(conn)
                moved = []
                for row in rows:
                    kind: TokenKind = "access" if row.kind == "access" else "refresh"
                    token = ring.decrypt(row.ciphertext, connection_id=row.connection_id, kind=kind)
                    sealed = ring.encrypt(token, connection_id=row.connection_id, kind=kind)
                    moved.append(row._replace(kid=ring.current, ciphertext=sealed))
                await upstream_tokens.replace_ciphertexts(conn, moved)
                count += len(rows)

    async def _retire(
        self, conn: Connection, store: EventStore, old: str, *, successor: str, count: int,
        metadata: Metadata,
    ) -> bool:  # fmt: skip
        now = utcnow()
        async with conn.transaction():
            await conn.execute("SELECT pg_advisory_xact_lock($1)", _VAULT_LOCK)
            if not await upstream_tokens.retire_key(conn, old, now):
                return False
            _, head = await store.read_stream(_stream(old))
            retired = VaultKeyRetired(kid=old, reencrypted=count, successor=successor)
            await store.append_all(
                [StreamAppend(_stream(old), head, new_events([retired], metadata, now))], conn=conn
            )
        store.committed()
        self._keys.pop(old, None)
        return True
