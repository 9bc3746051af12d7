"""What the console's operations pages read: signing keys, workspaces, connected accounts'
health, followers' lag and the latest revocations. Read-only; every figure from a projection
or a small table, never a scan of the log."""

from __future__ import annotations

from datetime import datetime
from typing import Final

import asyncpg
import msgspec

from domain.revocation import REVOKING
from infra.postgres.audit_checkpoints import CHECKPOINTER
from projections import ASYNC
from projections.audit_trail_queries import recent
from services.projector import ProjectionStatus, projection_status
from services.relay import RELAY_CHECKPOINT

__all__ = [
    "SigningKey",
    "WorkspaceRow",
    "connection_health",
    "follower_lag",
    "recent_revocations",
    "signing_keys",
    "workspaces",
]

_KEYS: Final = """
SELECT kid, alg, created_at, retired_at, revoked_at FROM signing_keys ORDER BY created_at DESC
"""
_WORKSPACES: Final = """
SELECT w.workspace_id, w.name, w.created_at,
       (SELECT count(*) FROM workspace_members m
        WHERE m.workspace_id = w.workspace_id AND m.status = 'active') AS members
FROM workspaces w ORDER BY w.created_at DESC LIMIT $1
"""
_HEALTH: Final = "SELECT lifecycle, count(*) AS n FROM connections GROUP BY lifecycle ORDER BY 1"


class SigningKey(msgspec.Struct, frozen=True, kw_only=True):
    kid: str
    alg: str
    created_at: datetime
    retired_at: datetime | None
    revoked_at: datetime | None

    @property
    def status(self) -> str:
        if self.revoked_at is not None:
            return "revoked"
        return "retired" if self.retired_at is not None else "signing"


class WorkspaceRow(msgspec.Struct, frozen=True, kw_only=True):
    workspace_id: str
    name: str
    created_at: datetime
    members: int


async def signing_keys(pool: asyncpg.Pool) -> list[SigningKey]:
    async with pool.acquire() as conn:
        rows = await conn.fetch(_KEYS)
    return [SigningKey(**dict(row)) for row in rows]


async def workspaces(pool: asyncpg.Pool, limit: int = 200) -> list[WorkspaceRow]:
    async with pool.acquire() as conn:
        rows = await conn.fetch(_WORKSPACES, limit)
    return [WorkspaceRow(**dict(row)) for row in rows]


async def connection_health(pool: asyncpg.Pool) -> list[tuple[str, int]]:
    """Connected accounts per lifecycle state (`needs_reauthentication` is the one to watch)."""
    async with pool.acquire() as conn:
        rows = await conn.fetch(_HEALTH)
    return [(row["lifecycle"], row["n"]) for row in rows]


async def follower_lag(pool: asyncpg.Pool) -> list[ProjectionStatus]:
    """The relay's, each async projection's and the checkpointer's lag, as /metrics has it."""
    async with pool.acquire() as conn:
        return [
            await projection_status(conn, name)
            for name in (RELAY_CHECKPOINT, *(p.name for p in ASYNC), CHECKPOINTER)
        ]


async def recent_revocations(pool: asyncpg.Pool, limit: int = 25) -> list[asyncpg.Record]:
    """The newest revoking events in the audit trail, newest first."""
    async with pool.acquire() as conn:
        return await recent(conn, sorted(REVOKING), limit)
