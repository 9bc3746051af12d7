"""`keyledger audit verify`: every hash chain recomputed, every signed checkpoint checked.

Two passes, each in one snapshot and in memory flat however long the log: the streams in
(stream_id, stream_version) order for the chains, then the checkpoints in `seq` order, each
with the events now in its segment (one segment in memory at a time).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Final

import asyncpg
import msgspec

from domain.audit_checkpoint import (
    CheckpointBreak,
    CheckpointReport,
    CheckpointVerifier,
    StoredCheckpoint,
)
from domain.chain import ChainBreak, ChainReport, ChainVerifier, LoggedEvent
from infra.postgres import Connection, audit_checkpoints
from infra.postgres.audit_checkpoints import CheckpointRow
from schemas.envelope import Metadata
from services.checkpointer import OpenedCheckpoint, open_checkpoint, verifying_keys

__all__ = ["AuditReport", "audit_log", "verify_checkpoints", "verify_log"]

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


class AuditReport(msgspec.Struct, kw_only=True):
    """What `keyledger audit verify --json` prints: the chains' report, then the checkpoints'."""

    intact: bool
    events: int
    streams: int
    last_position: int
    breaks: list[ChainBreak]
    checkpoints: int
    # Everything up to this event (in log order) is covered by a verified checkpoint.
    checkpointed_up_to: int
    not_checkpointed: int
    checkpoint_breaks: list[CheckpointBreak]


async def verify_checkpoints(pool: asyncpg.Pool) -> tuple[CheckpointReport, int]:
    """Check every checkpoint against the log; returns the report and how many events come
    after the newest checkpoint (not yet checkpointed)."""
    async with pool.acquire() as conn, conn.transaction(readonly=True, isolation="repeatable_read"):
        jwks = [msgspec.json.decode(text) for text in await audit_checkpoints.public_keys(conn)]
        keys, _unusable = verifying_keys(jwks)  # a checkpoint such a key signed fails below
        verifier = CheckpointVerifier()
        async for row in audit_checkpoints.all_checkpoints(conn):
            stored = _stored(row, open_checkpoint(row.jws, keys))
            current = await audit_checkpoints.segment(
                conn, verifier.covered, verifier.bounds(stored)
            )
            verifier.add(stored, current)
        pending = await audit_checkpoints.count_after(conn, verifier.covered)
    return verifier.report, pending


async def audit_log(pool: asyncpg.Pool) -> AuditReport:
    chains = await verify_log(pool)
    checkpoints, pending = await verify_checkpoints(pool)
    return AuditReport(
        intact=chains.intact and not checkpoints.breaks,
        events=chains.events,
        streams=chains.streams,
        last_position=chains.last_position,
        breaks=chains.breaks,
        checkpoints=checkpoints.checkpoints,
        checkpointed_up_to=checkpoints.last_position,
        not_checkpointed=pending,
        checkpoint_breaks=checkpoints.breaks,
    )


def _stored(row: CheckpointRow, opened: OpenedCheckpoint) -> StoredCheckpoint:
    return StoredCheckpoint(
        seq=row.seq,
        first_tx_id=row.first_tx_id,
        first_position=row.first_position,
        last_tx_id=row.last_tx_id,
        last_position=row.last_position,
        event_count=row.event_count,
        merkle_root=row.merkle_root,
        prev_hash=row.prev_hash,
        hash=row.hash,
        kid=row.kid,
        manifest=row.manifest,
        signed=opened.signed,
        payload=opened.payload,
        signature_valid=opened.signature_valid,
    )
