"""Token signing keys: created, sealed, rotated, and published as a JWKS (RFC 7517).

Access tokens are signed with ES256 (fast, small); ID tokens with RS256, which OpenID
Connect requires every provider to offer. A rotation makes a new pair current; the retired
keys stay in the JWKS until every token they signed has expired. A revoked key (an incident)
leaves the JWKS at once, and every token it signed stops working.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Final

import asyncpg
import msgspec

from infra.crypto.jwt import Algorithm, SigningKey
from infra.crypto.sealing import Sealer
from infra.postgres import Connection
from infra.postgres.event_store import NEW_STREAM, EventStore, StreamAppend, StreamHead
from schemas.envelope import Metadata
from schemas.events import Event, Sealed, SigningKeyActivated, SigningKeyRetired, SigningKeyRevoked
from services.commands import new_events, utcnow

__all__ = [
    "ACCESS_ALG",
    "ID_TOKEN_ALG",
    "KeyRing",
    "ensure_keys",
    "load_keys",
    "published_jwks",
    "revoke_key",
    "rotate_keys",
]

ACCESS_ALG: Final[Algorithm] = "ES256"
ID_TOKEN_ALG: Final[Algorithm] = "RS256"
# Longest access/ID token lifetime a client may configure: a retired key is published this long.
PUBLISH_RETIRED_FOR: Final = timedelta(hours=24)
_KEYS_LOCK: Final = 0x6B6C_6B79  # "klky": one rotation at a time across replicas

_SELECT: Final = """
SELECT kid, alg, sealed_private, public_jwk, retired_at FROM signing_keys
WHERE revoked_at IS NULL AND (retired_at IS NULL OR retired_at > $1) ORDER BY created_at DESC
"""


@dataclass(frozen=True, slots=True)
class KeyRing:
    """The keys that sign now (one per algorithm) and every key still published."""

    signing: dict[str, SigningKey]
    published: list[dict[str, str]]

    def signer(self, alg: Algorithm) -> SigningKey:
        return self.signing[alg]

    @property
    def jwks(self) -> dict[str, list[dict[str, str]]]:
        return {"keys": self.published}


_PUBLISHED: Final = """
SELECT public_jwk FROM signing_keys
WHERE revoked_at IS NULL AND (retired_at IS NULL OR retired_at > $1) ORDER BY created_at DESC
"""


async def published_jwks(pool: asyncpg.Pool) -> dict[str, list[dict[str, str]]]:
    """The JWKS as the database has it now, not as this process last loaded it: a process
    that has just rotated signs with the new key at once, so every process must publish it
    from the moment it is committed (a resource server fetches the JWKS on an unknown kid)."""
    async with pool.acquire() as conn:
        rows = await conn.fetch(_PUBLISHED, utcnow() - PUBLISH_RETIRED_FOR)
    return {"keys": [msgspec.json.decode(row["public_jwk"], type=dict[str, str]) for row in rows]}


def _context(kid: str) -> str:
    return f"signing_key:{kid}"


async def load_keys(
    pool: asyncpg.Pool, sealer: Sealer, now: datetime | None = None, known: KeyRing | None = None
) -> KeyRing:
    """The current ring; with `known`, signing keys already loaded are reused (no re-parsing)."""
    now = now or utcnow()
    loaded = {key.kid: key for key in known.signing.values()} if known else {}
    async with pool.acquire() as conn:
        rows = await conn.fetch(_SELECT, now - PUBLISH_RETIRED_FOR)
    signing: dict[str, SigningKey] = {}
    published: list[dict[str, str]] = []
    for row in rows:
        published.append(msgspec.json.decode(row["public_jwk"], type=dict[str, str]))
        if row["retired_at"] is None and row["alg"] not in signing:
            key = loaded.get(row["kid"])
            if key is None:
                pem = sealer.open(Sealed(row["sealed_private"]), context=_context(row["kid"]))
                key = SigningKey.from_pem(row["kid"], row["alg"], pem)
            signing[row["alg"]] = key
    return KeyRing(signing=signing, published=published)


async def rotate_keys(
    pool: asyncpg.Pool,
    store: EventStore,
    sealer: Sealer,
    *,
    only_if_missing: bool = False,
    metadata: Metadata | None = None,
) -> list[str]:
    """Make a fresh ES256 + RS256 pair current and retire the previous ones; returns new kids."""
    now = utcnow()
    async with pool.acquire() as conn, conn.transaction():
        await conn.execute("SELECT pg_advisory_xact_lock($1)", _KEYS_LOCK)
        current = await conn.fetch("SELECT kid FROM signing_keys WHERE retired_at IS NULL")
        if only_if_missing and current:
            return []
        appends, kids = await _rotate(conn, sealer, now, metadata)
        await store.append_all(appends, conn=conn)
    store.committed()
    return kids


async def _rotate(
    conn: Connection, sealer: Sealer, now: datetime, metadata: Metadata | None
) -> tuple[list[StreamAppend], list[str]]:
    """Retire the current keys and make a new pair; the caller holds the lock and appends."""
    appends: list[StreamAppend] = []
    for row in await conn.fetch("SELECT kid FROM signing_keys WHERE retired_at IS NULL"):
        kid = row["kid"]
        await conn.execute("UPDATE signing_keys SET retired_at = $2 WHERE kid = $1", kid, now)
        head = await _head(conn, f"signing_key-{kid}")
        appends.append(_append(kid, head, SigningKeyRetired(kid=kid), now, metadata))
    kids = []
    for alg in (ACCESS_ALG, ID_TOKEN_ALG):
        key = SigningKey.generate(alg, f"{alg.lower()}-{uuid.uuid4().hex[:16]}")
        public = msgspec.json.encode(key.public_jwk()).decode()
        sealed = sealer.seal(key.private_pem(), context=_context(key.kid))
        await conn.execute(
            "INSERT INTO signing_keys (kid, alg, sealed_private, public_jwk, created_at)"
            " VALUES ($1, $2, $3, $4, $5)",
            key.kid, alg, sealed, public, now,
        )  # fmt: skip
        event = SigningKeyActivated(kid=key.kid, alg=alg, public_jwk=public)
        appends.append(_append(key.kid, NEW_STREAM, event, now, metadata))
        kids.append(key.kid)
    return appends, kids


async def revoke_key(
    pool: asyncpg.Pool,
    store: EventStore,
    sealer: Sealer,
    kid: str,
    *,
    reason: str,
    metadata: Metadata,
) -> list[str] | None:
    """Distrust a key: out of the JWKS, every token it signed dead (an incident response).

    A key still signing is replaced first, by a new pair. Returns the new kids (empty when
    the key no longer signed), or None when no such key is published or kept.
    """
    now = utcnow()
    async with pool.acquire() as conn, conn.transaction():
        await conn.execute("SELECT pg_advisory_xact_lock($1)", _KEYS_LOCK)
        row = await conn.fetchrow(
            "SELECT retired_at FROM signing_keys WHERE kid = $1 AND revoked_at IS NULL", kid
        )
        if row is None:
            return None
        appends, kids = await _rotate(conn, sealer, now, metadata) if row[0] is None else ([], [])
        await conn.execute("UPDATE signing_keys SET revoked_at = $2 WHERE kid = $1", kid, now)
        revoked = _append(kid, NEW_STREAM, SigningKeyRevoked(kid=kid, reason=reason), now, metadata)
        retired = [i for i, a in enumerate(appends) if a.stream_id == revoked.stream_id]
        if retired:  # retired by the rotation just now: one append, retired then revoked
            stream_id, head, events = appends[retired[0]]
            appends[retired[0]] = StreamAppend(stream_id, head, [*events, *revoked.events])
        else:
            head = await _head(conn, revoked.stream_id)
            appends.append(StreamAppend(revoked.stream_id, head, revoked.events))
        await store.append_all(appends, conn=conn)
    store.committed(urgent=True)
    return kids


async def _head(conn: Connection, stream_id: str) -> StreamHead:
    row = await conn.fetchrow(
        "SELECT stream_version, hash FROM events WHERE stream_id = $1"
        " ORDER BY stream_version DESC LIMIT 1",
        stream_id,
    )
    return NEW_STREAM if row is None else StreamHead(row["stream_version"], row["hash"])


def _append(
    kid: str, head: StreamHead, event: Event, now: datetime, metadata: Metadata | None
) -> StreamAppend:
    meta = metadata or Metadata()  # the first pair, made at start-up, is the system's own
    return StreamAppend(f"signing_key-{kid}", head, new_events([event], meta, now))


async def ensure_keys(pool: asyncpg.Pool, store: EventStore, sealer: Sealer) -> None:
    """On first start, create the first pair (a no-op once keys exist)."""
    await rotate_keys(pool, store, sealer, only_if_missing=True)
