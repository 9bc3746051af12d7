"""Consents, async: what each user has allowed each client, and since when, for the account page.

Kept from the `consent-<user_id>.<client_id>` streams: a grant (or a wider one) makes the row
current, a withdrawal marks it withdrawn, a grant after a withdrawal makes it current again.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Final, TypeAlias

import asyncpg
from asyncpg.pool import PoolConnectionProxy

from projections.projection import Projection, Statement, load_ddl
from schemas.envelope import RecordedEvent
from schemas.events import ConsentGranted, ConsentWithdrawn, to_snake_case

__all__ = ["NAME", "PROJECTION", "Consent", "granted", "statements"]

NAME: Final = "consents"

# Projections sit beside infra, not on it: the same alias as infra.postgres.Connection.
Connection: TypeAlias = "asyncpg.Connection[asyncpg.Record] | PoolConnectionProxy[asyncpg.Record]"

# `stream_version` guards every write, so a replayed event changes nothing.
_GRANT: Final = """
INSERT INTO consents AS c (user_id, client_id, workspace_id, scopes, status, granted_at,
    updated_at, stream_version)
VALUES ($1, $2, coalesce($3, (SELECT workspace_id FROM clients WHERE client_id = $2)), $4,
    'granted', $5, $5, $6)
ON CONFLICT (user_id, client_id) DO UPDATE
SET workspace_id = excluded.workspace_id,
    scopes = excluded.scopes,
    granted_at = CASE WHEN c.status = 'withdrawn' THEN excluded.granted_at ELSE c.granted_at END,
    status = 'granted',
    withdrawn_at = NULL,
    updated_at = excluded.updated_at,
    stream_version = excluded.stream_version
WHERE c.stream_version < excluded.stream_version
"""
_WITHDRAW: Final = """
UPDATE consents SET status = 'withdrawn', withdrawn_at = $3, updated_at = $3, stream_version = $4
WHERE user_id = $1 AND client_id = $2 AND stream_version < $4
"""
_GRANTED: Final = """
SELECT client_id, workspace_id, scopes, granted_at FROM consents
WHERE user_id = $1 AND status = 'granted'
ORDER BY granted_at, client_id
"""


def statements(recorded: RecordedEvent) -> list[Statement]:
    event, at, version = recorded.event, recorded.occurred_at, recorded.stream_version
    match event:
        case ConsentGranted():
            workspace = recorded.metadata.workspace_id
            args = (event.user_id, event.client_id, workspace, list(event.scopes), at, version)
            return [Statement(_GRANT, args)]
        case ConsentWithdrawn():
            return [Statement(_WITHDRAW, (event.user_id, event.client_id, at, version))]
        case _:
            return []


@dataclass(frozen=True, slots=True)
class Consent:
    client_id: str
    workspace_id: str | None
    scopes: tuple[str, ...]
    granted_at: datetime


async def granted(conn: Connection, user_id: str) -> list[Consent]:
    """The consents a user has in force, oldest first (as of the projector's last batch)."""
    rows = await conn.fetch(_GRANTED, user_id)
    return [
        Consent(row["client_id"], row["workspace_id"], tuple(row["scopes"]), row["granted_at"])
        for row in rows
    ]


PROJECTION: Final = Projection(
    name=NAME,
    handles=frozenset(to_snake_case(cls.__name__) for cls in (ConsentGranted, ConsentWithdrawn)),
    tables=("consents",),
    ddl=load_ddl(NAME),
    statements=statements,
)
