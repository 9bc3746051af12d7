"""Reads of the `providers` and `connections` tables: for the callback, the scheduler, and
what owners, members and operators are shown."""

from __future__ import annotations

from datetime import datetime
from typing import Final, TypeAlias

import asyncpg
import msgspec
from asyncpg.pool import PoolConnectionProxy

from schemas.events import ProviderRegistered

__all__ = [
    "ConnectionRow",
    "Provider",
    "connection",
    "connections_of_user",
    "connections_of_workspace",
    "due_connections",
    "every_connection",
    "pending_by_state",
    "provider",
    "provider_named",
    "providers",
]

# Projections sit beside infra, not on it: the same alias as infra.postgres.Connection.
Connection: TypeAlias = "asyncpg.Connection[asyncpg.Record] | PoolConnectionProxy[asyncpg.Record]"

_registration: Final = msgspec.json.Decoder(ProviderRegistered)


class Provider(msgspec.Struct, frozen=True, kw_only=True):
    registration: ProviderRegistered
    registered_at: datetime
    removed_at: datetime | None

    @property
    def provider_id(self) -> str:
        return self.registration.provider_id


class ConnectionRow(msgspec.Struct, frozen=True, kw_only=True):
    connection_id: str
    provider_id: str
    provider_name: str
    user_id: str
    workspace_id: str | None
    lifecycle: str
    scopes: list[str]
    started_at: datetime
    start_expires_at: datetime
    established_at: datetime | None
    upstream_subject: str | None
    access_expires_at: datetime | None
    refresh_expires_at: datetime | None
    has_refresh: bool
    obtained_at: datetime | None
    refresh_count: int
    claim_attempt_id: str | None
    claim_started_at: datetime | None
    in_doubt: bool
    retry_at: datetime | None
    failures: int
    last_error: str | None
    checked_at: datetime | None
    last_health: str | None
    refresh_requested: bool
    ended_at: datetime | None
    end_reason: str | None
    # The provider's policy, joined in.
    refresh_margin_s: int
    max_token_age_s: int | None
    health_check_interval_s: int | None
    can_check: bool


_PROVIDER_COLUMNS: Final = "registration, registered_at, removed_at"
_PROVIDER: Final = f"SELECT {_PROVIDER_COLUMNS} FROM providers WHERE provider_id = $1"
# A workspace's own provider first, then the operator's of that name.
_PROVIDER_NAMED: Final = f"""
SELECT {_PROVIDER_COLUMNS} FROM providers
WHERE name = $1 AND removed_at IS NULL AND (workspace_id IS NULL OR workspace_id = $2)
ORDER BY workspace_id IS NULL LIMIT 1
"""
_PROVIDERS: Final = f"""
SELECT {_PROVIDER_COLUMNS} FROM providers
WHERE removed_at IS NULL AND workspace_id IS NOT DISTINCT FROM $1 ORDER BY name
"""

_COLUMNS: Final = """
c.connection_id, c.provider_id, p.name AS provider_name, c.user_id, c.workspace_id,
c.lifecycle, c.scopes, c.started_at, c.start_expires_at, c.established_at, c.upstream_subject,
c.access_expires_at, c.refresh_expires_at, c.has_refresh, c.obtained_at, c.refresh_count,
c.claim_attempt_id, c.claim_started_at, c.in_doubt, c.retry_at, c.failures, c.last_error,
c.checked_at, c.last_health, c.refresh_requested, c.ended_at, c.end_reason,
p.refresh_margin_s, p.max_token_age_s, p.health_check_interval_s, p.can_check
"""
_FROM: Final = "FROM connections c JOIN providers p ON p.provider_id = c.provider_id"
_CONNECTION: Final = f"SELECT {_COLUMNS} {_FROM} WHERE c.connection_id = $1"
_OF_USER: Final = f"""
SELECT {_COLUMNS} {_FROM} WHERE c.user_id = $1 AND c.workspace_id IS NULL
ORDER BY c.started_at DESC LIMIT $2
"""
_OF_WORKSPACE: Final = f"""
SELECT {_COLUMNS} {_FROM} WHERE c.workspace_id = $1 ORDER BY c.started_at DESC LIMIT $2
"""
_EVERY: Final = f"SELECT {_COLUMNS} {_FROM} ORDER BY c.started_at DESC LIMIT $1"
_PENDING: Final = """
SELECT connection_id FROM connections WHERE state_digest = $1 AND lifecycle = 'pending'
"""
# Every active connection something may be due for; domain/policies/upstream_refresh.py
# decides what exactly. A refresh that failed waits for its retry time.
_DUE: Final = f"""
SELECT {_COLUMNS} {_FROM}
WHERE c.lifecycle = 'active' AND (
    c.claim_attempt_id IS NOT NULL OR c.in_doubt
    OR ((c.retry_at IS NULL OR c.retry_at <= $1) AND (
        c.refresh_requested
        OR c.access_expires_at - make_interval(secs => p.refresh_margin_s) <= $1
        OR c.refresh_expires_at - make_interval(secs => p.refresh_margin_s) <= $1
        OR c.obtained_at + make_interval(secs => p.max_token_age_s) <= $1
        OR (p.can_check AND greatest(c.checked_at, c.obtained_at)
                            + make_interval(secs => p.health_check_interval_s) <= $1))))
ORDER BY c.updated_at LIMIT $2
"""


def _provider(row: asyncpg.Record | None) -> Provider | None:
    if row is None:
        return None
    return Provider(
        registration=_registration.decode(row["registration"]),
        registered_at=row["registered_at"],
        removed_at=row["removed_at"],
    )


def _connection(row: asyncpg.Record) -> ConnectionRow:
    return ConnectionRow(**dict(row.items()))


async def provider(conn: Connection, provider_id: str) -> Provider | None:
    return _provider(await conn.fetchrow(_PROVIDER, provider_id))


async def provider_named(conn: Connection, name: str, workspace_id: str | None) -> Provider | None:
    """The live provider a user may connect through by that name (the workspace's own first)."""
    return _provider(await conn.fetchrow(_PROVIDER_NAMED, name, workspace_id))


async def providers(conn: Connection, workspace_id: str | None) -> list[Provider]:
    """The operator's providers (None), or one workspace's own."""
    found = [_provider(row) for row in await conn.fetch(_PROVIDERS, workspace_id)]
    return [p for p in found if p is not None]


async def connection(conn: Connection, connection_id: str) -> ConnectionRow | None:
    row = await conn.fetchrow(_CONNECTION, connection_id)
    return None if row is None else _connection(row)


async def connections_of_user(conn: Connection, user_id: str, limit: int) -> list[ConnectionRow]:
    """A user's personal connections (not those they made for a workspace), newest first."""
    return [_connection(row) for row in await conn.fetch(_OF_USER, user_id, limit)]


async def connections_of_workspace(
    conn: Connection, workspace_id: str, limit: int
) -> list[ConnectionRow]:
    return [_connection(row) for row in await conn.fetch(_OF_WORKSPACE, workspace_id, limit)]


async def every_connection(conn: Connection, limit: int) -> list[ConnectionRow]:
    return [_connection(row) for row in await conn.fetch(_EVERY, limit)]


async def pending_by_state(conn: Connection, state_digest: str) -> str | None:
    found: str | None = await conn.fetchval(_PENDING, state_digest)
    return found


async def due_connections(conn: Connection, now: datetime, limit: int) -> list[ConnectionRow]:
    return [_connection(row) for row in await conn.fetch(_DUE, now, limit)]
