"""`keyledger audit verify`: every hash chain recomputed, every signed checkpoint checked.

Two passes, each in one snapshot and in memory flat however long the log: the streams in
(stream_id, stream_version) order for the chains, then the checkpoints in `seq` order, each
with the events now in its segment (one segment in memory at a time). With archive files,
both passes read the archived events together with the live ones (services/archive_source).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from pathlib import Path
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
from schemas.events import LogRangeArchived, decode_event
from services import archive_source
from services.checkpointer import OpenedCheckpoint, open_checkpoint, verifying_keys

__all__ = ["AuditReport", "audit_log", "verify_checkpoints", "verify_log"]

# On the live log, the (stream_id, stream_version) index gives this order without sorting.
_SELECT: Final = """
SELECT global_position, stream_id, stream_version, event_id, event_type, schema_version,
       occurred_at, metadata::text, data, prev_hash, hash
FROM {source} ORDER BY stream_id, stream_version
"""
# Ranges of the log that `keyledger log archive` took out of the database.
_ARCHIVED: Final = """
SELECT data, schema_version FROM events
WHERE split_part(stream_id, '-', 1) = 'log' AND event_type = 'log_range_archived'
ORDER BY global_position
"""
_PREFETCH: Final = 2000
_metadata = msgspec.json.Decoder(Metadata)


async def _logged(conn: Connection, source: str) -> AsyncIterator[LoggedEvent]:
    async for row in conn.cursor(_SELECT.format(source=source), prefetch=_PREFETCH):
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
    async with pool.acquire() as conn:
        return await _chains(conn, archive_source.LIVE)


async def _chains(conn: Connection, source: str) -> ChainReport:
    async with conn.transaction(readonly=True, isolation="repeatable_read"):
        verifier = ChainVerifier()
        async for event in _logged(conn, source):
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
    # Archive files read with the live log, what is wrong with any of them as a file, and
    # where each break found in an archive sits in it ("position: file line N").
    archives: int = 0
    archive_problems: list[str] = msgspec.field(default_factory=list)
    located: list[str] = msgspec.field(default_factory=list)
    # Archived partitions whose file was not given: their events were not checked.
    archives_missing: list[str] = msgspec.field(default_factory=list)


async def verify_checkpoints(pool: asyncpg.Pool) -> tuple[CheckpointReport, int]:
    """Check every checkpoint against the log; returns the report and how many events come
    after the newest checkpoint (not yet checkpointed)."""
    async with pool.acquire() as conn:
        return await _checkpoints(conn, archive_source.LIVE)


async def _checkpoints(conn: Connection, source: str) -> tuple[CheckpointReport, int]:
    async with conn.transaction(readonly=True, isolation="repeatable_read"):
        jwks = [msgspec.json.decode(text) for text in await audit_checkpoints.public_keys(conn)]
        keys, _unusable = verifying_keys(jwks)  # a checkpoint such a key signed fails below
        verifier = CheckpointVerifier()
        async for row in audit_checkpoints.all_checkpoints(conn):
            stored = _stored(row, open_checkpoint(row.jws, keys))
            current = await audit_checkpoints.segment(
                conn, verifier.covered, verifier.bounds(stored), source
            )
            verifier.add(stored, current)
        pending = await audit_checkpoints.count_after(conn, verifier.covered, source)
    return verifier.report, pending


async def audit_log(pool: asyncpg.Pool, archives: Sequence[Path] = ()) -> AuditReport:
    """Verify the live log, with the archive files of the partitions it no longer holds."""
    async with pool.acquire() as conn:
        try:
            return await _audit(conn, archives)
        finally:
            if archives:
                # The connection goes back to the pool: no temporary table may stay on it.
                await conn.execute(archive_source.DROP)


async def _audit(conn: Connection, archives: Sequence[Path]) -> AuditReport:
    source = archive_source.LIVE
    problems: list[str] = []
    given: list[str] = []
    if archives:
        problems, given = await archive_source.load_archives(conn, archives)
        source = archive_source.UNION
    chains = await _chains(conn, source)
    checkpoints, pending = await _checkpoints(conn, source)
    recorded = [
        event
        for row in await conn.fetch(_ARCHIVED)
        if isinstance(event := decode_event("log_range_archived", row[1], row[0]), LogRangeArchived)
    ]
    missing = [r for r in recorded if r.partition not in given]
    # Events of an archived range whose file was not given are absent, not removed.
    checkpoint_breaks = [
        found
        for found in checkpoints.breaks
        if not any(_holds(r, found.global_position) for r in missing)
    ]
    located = []
    if archives:
        for position in sorted(
            {b.global_position for b in chains.breaks}
            | {b.global_position for b in checkpoint_breaks if b.global_position is not None}
        ):
            place = await archive_source.where(conn, position)
            if place is not None:
                located.append(f"position {position}: {place}")
    return AuditReport(
        intact=chains.intact and not checkpoint_breaks and not problems,
        events=chains.events,
        streams=chains.streams,
        last_position=chains.last_position,
        breaks=chains.breaks,
        checkpoints=checkpoints.checkpoints,
        checkpointed_up_to=checkpoints.last_position,
        not_checkpointed=pending,
        checkpoint_breaks=checkpoint_breaks,
        archives=len(archives),
        archive_problems=problems,
        located=located,
        archives_missing=[f"{r.archive} (positions {r.lower} to {r.upper - 1})" for r in missing],
    )


def _holds(archived: LogRangeArchived, position: int | None) -> bool:
    return position is not None and archived.lower <= position < archived.upper


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
