"""Reads on behalf of one workspace, under row-level security (migration 0005).

Inside the transaction the connection acts as `keyledger_workspace` with the workspace in
`keyledger.workspace_id`: every isolated table shows that workspace's rows only, whatever
the query's own filter says. Both settings end with the transaction.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Final

import asyncpg

from infra.postgres import Connection

__all__ = ["ISOLATE", "WORKSPACE_ROLE", "isolate", "workspace_scope"]

WORKSPACE_ROLE: Final = "keyledger_workspace"
# One round trip for both settings; `true`: local to the transaction.
ISOLATE: Final = (
    f"SELECT set_config('role', '{WORKSPACE_ROLE}', true),"
    " set_config('keyledger.workspace_id', $1, true)"
)


async def isolate(conn: Connection, workspace_id: str) -> None:
    """Confine the rest of the open transaction to `workspace_id`'s rows."""
    await conn.execute(ISOLATE, workspace_id)


@asynccontextmanager
async def workspace_scope(pool: asyncpg.Pool, workspace_id: str) -> AsyncIterator[Connection]:
    """A read-only transaction that sees `workspace_id`'s rows only."""
    async with pool.acquire() as conn, conn.transaction(readonly=True):
        await isolate(conn, workspace_id)
        yield conn
