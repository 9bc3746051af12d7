"""Audit operations over the log: `keyledger audit verify` recomputes every hash chain."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Final

import asyncpg
import msgspec

from domain.chain import ChainReport, ChainVerifier, LoggedEvent
from infra.postgres import Connection
from schemas.envelope import Metadata

__all__ = ["verify_log"]

# The (stream_id, stream_version) unique index gives this order without sorting.
_SELECT: Final = """
SELECT global_position, stream_id, stream_version, event_id, event_type, schema_version,
       occurred_at, metadata::text, data, prev_hash, hash
FROM events ORDER BY stream_id, stream_version
"""
_PREFETCH: Final = 2000
_metadata = msgspec.json.Decoder(Metadata)


async def _logged(conn: Connection) -> AsyncIterator[LoggedEvent]:
    async for row in conn.cursor(_SELECT, prefetch=_PREFETCH):
        yield LoggedEvent(
            global_position=row["global_position"],
            stream_id=row["stream_id"],
            stream_version=row["stream_version"],
            event_id=row["event_id"],
            event_type=row["event_type"],
            schema_version=row["schema_version"],
            occurred_at=row["occurred_at"],
            metadata=_metadata.decode(row["metadata"]),
            data=row["data"],
            prev_hash=row["prev_hash"],
            hash=row["hash"],
        )


async def verify_log(pool: asyncpg.Pool) -> ChainReport:
    """Recompute every stream's chain from the stored rows, memory flat however large."""
    async with pool.acquire() as conn, conn.transaction(readonly=True, isolation="repeatable_read"):
        verifier = ChainVerifier()
        async for event in _logged(conn):
            verifier.add(event)
        return verifier.report
