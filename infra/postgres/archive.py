"""What `keyledger log archive` asks of the database: which old partitions may leave, their
rows under a lock, and their detachment (DECISIONS.md 29).

A partition may leave only whole, once nothing still needs it in the database: its events
are older than the cutoff, every follower (relay, projections, the checkpoint sealer) has
read past them, and no stream with events in it goes on in a later partition (its state is
folded from its history, which must stay in one place: the archive or the live log).
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from datetime import datetime
from typing import Final

import asyncpg

from infra.postgres import Connection
from infra.postgres.partitions import Partition

__all__ = [
    "ARCHIVE_LOCK_TIMEOUT",
    "behind",
    "detach_and_drop",
    "lock_rows",
    "newest_event",
    "ongoing_streams",
    "rows",
    "seals",
    "sequence_position",
]

# Detaching takes the ephemeral parent exclusively: appends wait behind it, so it gives up
# after this long rather than stall them behind a long reader.
ARCHIVE_LOCK_TIMEOUT: Final = "3s"

_COLUMNS: Final = """global_position, tx_id::text::bigint AS tx_id, stream_id, stream_version,
    event_id, event_type, schema_version, occurred_at, metadata::text AS metadata, data,
    prev_hash, hash"""


_PARTITION_NAME: Final = re.compile(r"events_from_\d+")


def _table(partition: Partition) -> str:
    # Names come from the catalog, in the one shape events_add_partitions() gives them.
    if not _PARTITION_NAME.fullmatch(partition.name):
        raise ValueError(f"not a range partition of the log: {partition.name!r}")
    return f'"{partition.name}"'


async def sequence_position(conn: Connection) -> int:
    """The newest position handed out: a partition below it gets no new rows."""
    value: int = await conn.fetchval("SELECT events_newest_position()")
    return value


async def newest_event(conn: Connection, partition: Partition) -> datetime | None:
    found: datetime | None = await conn.fetchval(
        f"SELECT max(occurred_at) FROM {_table(partition)}"
    )
    return found


async def behind(conn: Connection, partition: Partition) -> list[str]:
    """The followers that have not yet read every event of `partition`."""
    rows_ = await conn.fetch(
        f"""
        WITH last AS (
            SELECT tx_id, global_position FROM {_table(partition)}
            ORDER BY tx_id DESC, global_position DESC LIMIT 1)
        SELECT c.name FROM checkpoints c, last
        WHERE (c.tx_id, c.global_position) < (last.tx_id, last.global_position)
        ORDER BY c.name
        """
    )
    return [row[0] for row in rows_]


async def ongoing_streams(conn: Connection, partition: Partition, upper: int) -> list[str]:
    """Streams with events in `partition` that go on at or after position `upper`."""
    rows_ = await conn.fetch(
        f"""
        SELECT h.stream_id FROM (SELECT DISTINCT stream_id FROM {_table(partition)}) s
        JOIN stream_heads h USING (stream_id)
        WHERE h.last_position >= $1
        ORDER BY h.stream_id LIMIT 5
        """,
        upper,
    )
    return [row[0] for row in rows_]


async def seals(conn: Connection, partition: Partition) -> list[str]:
    """The JWS of every checkpoint whose segment holds an event of `partition`."""
    table = _table(partition)
    order = "ORDER BY tx_id {0}, global_position {0} LIMIT 1"
    first = await conn.fetchrow(f"SELECT tx_id, global_position FROM {table} {order.format('ASC')}")
    last = await conn.fetchrow(f"SELECT tx_id, global_position FROM {table} {order.format('DESC')}")
    if first is None or last is None:
        return []
    rows = await conn.fetch(
        """SELECT jws FROM audit_checkpoints
           WHERE (last_tx_id, last_position) >= ($1::xid8, $2::bigint)
             AND (first_tx_id, first_position) <= ($3::xid8, $4::bigint)
           ORDER BY seq""",
        first[0],
        first[1],
        last[0],
        last[1],
    )
    return [row[0] for row in rows]


async def lock_rows(conn: Connection, partition: Partition) -> None:
    """No row can be added to `partition` until the caller's transaction ends, and every
    append already under way into it has ended (the caller holds a transaction)."""
    await conn.execute(f"LOCK TABLE {_table(partition)} IN SHARE MODE")


async def rows(
    conn: Connection, partition: Partition, prefetch: int = 2000
) -> AsyncIterator[asyncpg.Record]:
    """The partition's events in log order, from a cursor (the caller holds a transaction)."""
    query = f"SELECT {_COLUMNS} FROM {_table(partition)} ORDER BY tx_id, global_position"
    async for row in conn.cursor(query, prefetch=prefetch):
        yield row


async def detach_and_drop(conn: Connection, partition: Partition) -> None:
    """Take the partition out of the log and drop it (the caller holds a transaction)."""
    await conn.execute(f"SET LOCAL lock_timeout = '{ARCHIVE_LOCK_TIMEOUT}'")
    await conn.execute(f"ALTER TABLE events_ephemeral DETACH PARTITION {_table(partition)}")
    await conn.execute(f"DROP TABLE {_table(partition)}")
