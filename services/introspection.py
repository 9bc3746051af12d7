"""Whether a presented token works now (RFC 7662): the inline token state, never the JWT alone.

A token is looked up by its SHA-256 digest, so a forged or altered token never matches, and
revocation predicates (client, user, consent, signing key, workspace) are checked in the same
query. Concurrent lookups share one query.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Final

import asyncpg
import msgspec

from infra.crypto.digests import token_digest
from infra.postgres.batching import GroupedLookup
from services.commands import utcnow

__all__ = ["Introspection", "TokenLookup", "TokenRecord"]

_SELECT: Final = """
SELECT t.token_digest, t.kind, t.jti, t.family_id, t.client_id, t.subject, t.scopes,
       t.workspace_id, t.issued_at, t.expires_at,
       t.revoked_at IS NULL AND t.spent_at IS NULL AND c.status = 'active'
       AND NOT EXISTS (
           SELECT 1 FROM token_revocations r
           WHERE r.revoked_before >= t.issued_at
             AND ((r.kind = 'client' AND r.key = t.client_id)
                  OR (r.kind = 'user' AND r.key = t.subject)
                  OR (r.kind = 'consent' AND r.key = t.subject || ' ' || t.client_id)
                  OR (r.kind = 'signing_key' AND r.key = t.kid)
                  OR (r.kind = 'workspace' AND r.key = t.workspace_id))
       ) AS live
FROM token_state t JOIN clients c ON c.client_id = t.client_id
WHERE t.token_digest = ANY($1::text[])
"""


class TokenRecord(msgspec.Struct, frozen=True, kw_only=True):
    kind: str
    jti: str | None
    family_id: str
    client_id: str
    subject: str | None
    scopes: tuple[str, ...]
    workspace_id: str | None
    issued_at: datetime
    expires_at: datetime
    live: bool

    def active(self, now: datetime) -> bool:
        return self.live and now < self.expires_at


class Introspection(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    """RFC 7662 section 2.2; inactive tokens say nothing but `active: false`."""

    active: bool
    scope: str | None = None
    client_id: str | None = None
    sub: str | None = None
    token_type: str | None = None
    exp: int | None = None
    iat: int | None = None
    iss: str | None = None
    jti: str | None = None
    workspace_id: str | None = None


class TokenLookup:
    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool
        self._lookup: GroupedLookup[str, TokenRecord] = GroupedLookup(self._fetch)

    async def _fetch(self, digests: Sequence[str]) -> Mapping[str, TokenRecord]:
        async with self._pool.acquire() as conn:
            rows = await conn.fetch(_SELECT, digests)
        return {
            row["token_digest"]: TokenRecord(
                kind=row["kind"],
                jti=row["jti"],
                family_id=row["family_id"],
                client_id=row["client_id"],
                subject=row["subject"],
                scopes=tuple(row["scopes"]),
                workspace_id=row["workspace_id"],
                issued_at=row["issued_at"],
                expires_at=row["expires_at"],
                live=row["live"],
            )
            for row in rows
        }

    async def find(self, token: str) -> TokenRecord | None:
        """The token's record if it exists and works now, else None."""
        if not token or len(token) > 8192:
            return None
        return await self.find_digest(token_digest(token))

    async def find_digest(self, digest: str) -> TokenRecord | None:
        """`find` for a token known by its digest only (a session that keeps no token)."""
        record = await self._lookup.get(digest)
        return record if record is not None and record.active(utcnow()) else None

    async def introspect(self, token: str, issuer: str) -> tuple[Introspection, TokenRecord | None]:
        record = await self.find(token)
        if record is None:
            return Introspection(active=False), None
        response = Introspection(
            active=True,
            scope=" ".join(record.scopes),
            client_id=record.client_id,
            sub=record.subject or record.client_id,
            token_type="Bearer" if record.kind == "access" else "refresh_token",
            exp=int(record.expires_at.timestamp()),
            iat=int(record.issued_at.timestamp()),
            iss=issuer,
            jti=record.jti,
            workspace_id=record.workspace_id,
        )
        return response, record
