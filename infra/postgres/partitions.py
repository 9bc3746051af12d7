"""The events table's range partitions (DECISIONS.md 29): made ahead of need, listed, dropped.

Appends never wait for them: the worker keeps `AHEAD` partitions past the newest position,
every start does the same, and an append that still finds none (a burst past them all)
makes them and is tried again.
"""

from __future__ import annotations

from typing import Final, NamedTuple

import asyncpg

from infra.postgres import Connection

__all__ = [
    "AHEAD",
    "DEFAULT_SIZE",
    "Partition",
    "add_partitions",
    "is_missing_partition",
    "list_partitions",
]

DEFAULT_SIZE: Final = 10_000_000
AHEAD: Final = 2

# A partition being attached waits for no append, but it queues behind anything holding the
# parent exclusively; it gives up rather than make later appends queue behind it.
_LOCK_TIMEOUT: Final = "2s"

_LIST = """
SELECT c.relname AS name,
       (regexp_match(pg_get_expr(c.relpartbound, c.oid), 'FROM \\(''?(\\d+)''?\\)'))[1]::bigint
           AS lower,
       (regexp_match(pg_get_expr(c.relpartbound, c.oid), 'TO \\(''?(\\d+)''?\\)'))[1]::bigint
           AS upper
FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
WHERE i.inhparent = 'events_ephemeral'::regclass
ORDER BY lower
"""


class Partition(NamedTuple):
    """A range partition of the ephemeral streams' events: positions [lower, upper)."""

    name: str
    lower: int
    upper: int


async def add_partitions(conn: Connection, size: int = DEFAULT_SIZE, ahead: int = AHEAD) -> int:
    """Make partitions of `size` positions until `ahead` lie past the newest; how many made."""
    async with conn.transaction():
        await conn.execute(f"SET LOCAL lock_timeout = '{_LOCK_TIMEOUT}'")
        made: int = await conn.fetchval("SELECT events_add_partitions($1, $2)", size, ahead)
    return made


async def list_partitions(conn: Connection) -> list[Partition]:
    return [Partition(*row.values()) for row in await conn.fetch(_LIST)]


def is_missing_partition(error: asyncpg.PostgresError) -> bool:
    """The row's position lies past every range partition made so far."""
    return isinstance(error, asyncpg.CheckViolationError) and "no partition" in str(error)
