"""What a workspace holds, read under its row-level security: members, API keys, expiries.

Each read runs in `workspace_scope`, so even a query that forgot its workspace filter would
see this workspace's rows only. Keys are listed without any secret: none is stored.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Final

import asyncpg
import msgspec

from infra.postgres.isolation import workspace_scope
from services.commands import utcnow

__all__ = ["KeySummary", "Member", "expiring_keys", "list_keys", "members", "role_of"]

_MEMBERS: Final = """
SELECT user_id, role, status, since FROM workspace_members
WHERE workspace_id = $1 ORDER BY since, user_id
"""
# Users span workspaces and are not isolated: their names are read apart, by id.
_USERNAMES: Final = "SELECT user_id, username FROM users WHERE user_id = ANY($1::text[])"
_KEYS: Final = """
SELECT key_id, workspace_id, name, scopes, created_by, created_at, rotated_at, expires_at,
       revoked_at, previous_valid_until
FROM api_keys WHERE workspace_id = $1 ORDER BY created_at, key_id
"""
# Live keys that expire before $1. It names no workspace: under `workspace_scope`, row-level
# security confines it to one; on a plain connection it covers all (`keyledger keys expiring`).
_EXPIRING: Final = """
SELECT key_id, workspace_id, name, scopes, created_by, created_at, rotated_at, expires_at,
       revoked_at, previous_valid_until
FROM api_keys
WHERE revoked_at IS NULL AND expires_at IS NOT NULL AND expires_at > $2 AND expires_at <= $1
ORDER BY expires_at, key_id
"""


class Member(msgspec.Struct, frozen=True, kw_only=True):
    user_id: str
    username: str | None
    role: str
    status: str
    since: datetime


class KeySummary(msgspec.Struct, frozen=True, kw_only=True):
    key_id: str
    workspace_id: str
    name: str
    scopes: tuple[str, ...]
    created_by: str | None
    created_at: datetime
    rotated_at: datetime | None
    expires_at: datetime | None
    status: str  # active, expired, revoked
    # While a rotated-out key still works.
    previous_valid_until: datetime | None


def _summary(row: asyncpg.Record, now: datetime) -> KeySummary:
    expires_at = row["expires_at"]
    status = (
        "revoked"
        if row["revoked_at"] is not None
        else "expired"
        if expires_at is not None and expires_at <= now
        else "active"
    )
    previous = row["previous_valid_until"]
    return KeySummary(
        key_id=row["key_id"], workspace_id=row["workspace_id"], name=row["name"],
        scopes=tuple(row["scopes"]), created_by=row["created_by"],
        created_at=row["created_at"], rotated_at=row["rotated_at"], expires_at=expires_at,
        status=status, previous_valid_until=previous if previous and previous > now else None,
    )  # fmt: skip


async def members(pool: asyncpg.Pool, workspace_id: str) -> list[Member]:
    async with workspace_scope(pool, workspace_id) as conn:
        rows = await conn.fetch(_MEMBERS, workspace_id)
    async with pool.acquire() as conn:
        found = await conn.fetch(_USERNAMES, [r["user_id"] for r in rows])
    names: dict[str, str] = {r["user_id"]: r["username"] for r in found}
    return [
        Member(user_id=r["user_id"], username=names.get(r["user_id"]), role=r["role"],
               status=r["status"], since=r["since"])
        for r in rows
    ]  # fmt: skip


async def role_of(pool: asyncpg.Pool, workspace_id: str, user_id: str) -> str | None:
    """The user's active role in the workspace, or None."""
    async with pool.acquire() as conn:
        role: str | None = await conn.fetchval(
            "SELECT role FROM workspace_members"
            " WHERE workspace_id = $1 AND user_id = $2 AND status = 'active'",
            workspace_id,
            user_id,
        )
    return role


async def list_keys(
    pool: asyncpg.Pool, workspace_id: str, *, expiring_within: timedelta | None = None
) -> list[KeySummary]:
    now = utcnow()
    async with workspace_scope(pool, workspace_id) as conn:
        if expiring_within is None:
            rows = await conn.fetch(_KEYS, workspace_id)
        else:
            rows = await conn.fetch(_EXPIRING, now + expiring_within, now)
    return [_summary(row, now) for row in rows]


async def expiring_keys(pool: asyncpg.Pool, within: timedelta) -> list[KeySummary]:
    """Every workspace's live keys expiring within `within` (an operator's report)."""
    now = utcnow()
    async with pool.acquire() as conn:
        rows = await conn.fetch(_EXPIRING, now + within, now)
    return [_summary(row, now) for row in rows]
