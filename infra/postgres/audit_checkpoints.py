"""The `audit_checkpoints` table: signed checkpoints appended, read back, and their segments."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from datetime import datetime
from typing import Final, NamedTuple

import asyncpg

from domain.audit_checkpoint import LoggedLeaf, Manifest, SegmentEvent
from infra.postgres import Connection, checkpoints
from infra.postgres.event_store import Checkpoint

__all__ = [
    "CHECKPOINTER",
    "CheckpointRow",
    "PendingCount",
    "all_checkpoints",
    "count_after",
    "insert",
    "manifest",
    "newest",
    "pending",
    "public_keys",
    "segment",
]

# The follower name of the checkpointer in the `checkpoints` table.
CHECKPOINTER: Final = "audit_checkpointer"
_PREFETCH: Final = 16  # rows carry their manifest: about 480 kB per 10,000 events


class CheckpointRow(NamedTuple):
    seq: int
    first_tx_id: int
    first_position: int
    last_tx_id: int
    last_position: int
    event_count: int
    merkle_root: bytes
    prev_hash: bytes
    hash: bytes
    kid: str
    jws: str
    sealed_at: datetime
    manifest: Manifest


_COLUMNS: Final = """seq, first_tx_id, first_position, last_tx_id, last_position, event_count,
    merkle_root, prev_hash, hash, kid, jws, sealed_at, order_keys, event_hashes"""

# The follower's rule (event_store._READ_AFTER_FOLLOWER): after the stored place, below the
# transaction high-water mark. Only what a checkpoint commits to is read: a tenth of a row.
_AFTER_CHECKPOINTER: Final = """
FROM events
WHERE (tx_id, global_position) > (
        coalesce((SELECT tx_id FROM checkpoints WHERE name = $1), '0'::xid8),
        coalesce((SELECT global_position FROM checkpoints WHERE name = $1), 0))
  AND tx_id < pg_snapshot_xmin(pg_current_snapshot())
"""
_PENDING: Final = f"""
SELECT tx_id, global_position, hash {_AFTER_CHECKPOINTER}
ORDER BY tx_id, global_position LIMIT $2
"""
# The last of the events that came after `$1, $2` (below the horizon), with how many came,
# counting up to `$3`; no row when none came.
_ARRIVED: Final = """
SELECT tx_id, global_position, count(*) OVER () AS n
FROM (SELECT tx_id, global_position FROM events
      WHERE (tx_id, global_position) > ($1::xid8, $2::bigint)
        AND tx_id < pg_snapshot_xmin(pg_current_snapshot())
      ORDER BY tx_id, global_position LIMIT $3) arrived
ORDER BY tx_id DESC, global_position DESC LIMIT 1
"""

_INSERT: Final = f"""
INSERT INTO audit_checkpoints ({_COLUMNS})
VALUES ($1, $2::xid8, $3, $4::xid8, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)
"""

_SEGMENT: Final = """
SELECT tx_id, global_position, hash, stream_id, stream_version, event_id FROM {source}
WHERE (tx_id, global_position) > ($1::xid8, $2::bigint)
  AND (tx_id, global_position) <= ($3::xid8, $4::bigint)
ORDER BY tx_id, global_position
"""


async def pending(conn: Connection, limit: int) -> list[SegmentEvent]:
    """The next committed events after the checkpointer's place, in log order."""
    rows = await conn.fetch(_PENDING, CHECKPOINTER, limit)
    return [SegmentEvent(row[0], row[1], row[2]) for row in rows]


class PendingCount:
    """How many events wait to be checkpointed, counted as they come: each poll reads only
    the events that arrived since the last one, never the whole pending segment again."""

    __slots__ = ("_counted", "_upto")

    def __init__(self) -> None:
        self._counted = 0
        self._upto: Checkpoint | None = None  # None: from the checkpointer's stored place

    def reset(self) -> None:
        """After a seal (ours or anyone's): count again from the stored place."""
        self._counted, self._upto = 0, None

    async def count(self, conn: Connection, limit: int) -> int:
        """The events pending now, counting no further than `limit`."""
        if self._counted >= limit:
            return self._counted
        upto = self._upto or await checkpoints.load(conn, CHECKPOINTER)
        row = await conn.fetchrow(_ARRIVED, upto.tx_id, upto.global_position, limit - self._counted)
        if row is not None:
            self._counted += row["n"]
            upto = Checkpoint(row["tx_id"], row["global_position"])
        self._upto = upto
        return self._counted


async def newest(conn: Connection) -> CheckpointRow | None:
    row = await conn.fetchrow(f"SELECT {_COLUMNS} FROM audit_checkpoints ORDER BY seq DESC LIMIT 1")
    return None if row is None else _row(row)


async def insert(conn: Connection, row: CheckpointRow) -> None:
    *columns, manifest = row
    await conn.execute(_INSERT, *columns, manifest.order_keys, manifest.event_hashes)


async def manifest(conn: Connection, seq: int) -> Manifest | None:
    row = await conn.fetchrow(
        "SELECT order_keys, event_hashes FROM audit_checkpoints WHERE seq = $1", seq
    )
    return None if row is None else Manifest(row["order_keys"], row["event_hashes"])


async def all_checkpoints(conn: Connection) -> AsyncIterator[CheckpointRow]:
    """Every checkpoint in `seq` order, from a cursor (the caller holds a transaction)."""
    query = f"SELECT {_COLUMNS} FROM audit_checkpoints ORDER BY seq"
    async for row in conn.cursor(query, prefetch=_PREFETCH):
        yield _row(row)


async def segment(
    conn: Connection, after: tuple[int, int], upto: tuple[int, int], source: str = "events"
) -> list[LoggedLeaf]:
    """The events now in (after, upto], in log order; `source` may name a view that adds
    archived events to the live ones."""
    rows = await conn.fetch(_SEGMENT.format(source=source), *after, *upto)
    return [LoggedLeaf(*row.values()) for row in rows]


async def count_after(conn: Connection, after: tuple[int, int], source: str = "events") -> int:
    count: int = await conn.fetchval(
        f"SELECT count(*) FROM {source} WHERE (tx_id, global_position) > ($1::xid8, $2::bigint)",
        *after,
    )
    return count


async def public_keys(conn: Connection, kids: Sequence[str] | None = None) -> list[str]:
    """The public JWKs (JSON text) of signing keys, retired ones included: all, or of `kids`."""
    if kids is None:
        rows = await conn.fetch("SELECT public_jwk FROM signing_keys ORDER BY created_at")
    else:
        rows = await conn.fetch(
            "SELECT public_jwk FROM signing_keys WHERE kid = any($1::text[]) ORDER BY created_at",
            list(kids),
        )
    return [row[0] for row in rows]


def _row(row: asyncpg.Record) -> CheckpointRow:
    return CheckpointRow(
        seq=row["seq"],
        first_tx_id=row["first_tx_id"],
        first_position=row["first_position"],
        last_tx_id=row["last_tx_id"],
        last_position=row["last_position"],
        event_count=row["event_count"],
        merkle_root=row["merkle_root"],
        prev_hash=row["prev_hash"],
        hash=row["hash"],
        kid=row["kid"],
        jws=row["jws"],
        sealed_at=row["sealed_at"],
        manifest=Manifest(row["order_keys"], row["event_hashes"]),
    )
