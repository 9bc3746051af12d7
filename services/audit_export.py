"""`keyledger audit export`: one user's events, each with what proves it offline, streamed.

The user's events are found through the audit trail (its `subject_user`, indexed), and past
the trail's checkpoint by the same rule applied to the log itself, so a lagging projector
loses nothing. Everything is read from server-side cursors in one snapshot and written as
it comes: memory holds one checkpoint segment's tree at a time, however large the export.
"""

from __future__ import annotations

import csv
from collections.abc import AsyncIterator, Sequence
from datetime import datetime
from typing import Any, Final, Literal, NamedTuple, TextIO

import asyncpg
import msgspec

from domain.merkle import MerkleTree
from infra.crypto.personal_data import PersonalData
from infra.postgres import Connection, audit_checkpoints, checkpoints
from projections import audit_trail
from schemas.audit_export import (
    EVENT_COLUMNS,
    EventStatus,
    ExportedCheckpoint,
    ExportedEvent,
    ExportHeader,
    Jwks,
)
from schemas.canonical import encode_metadata
from schemas.envelope import Metadata
from schemas.events import decode_event

__all__ = ["ExportFormat", "ExportSummary", "ExportWriter", "export_user"]

ExportFormat = Literal["ndjson", "csv"]
_PREFETCH: Final = 1000
_TIME_WINDOW: Final = """($2::timestamptz IS NULL OR a.occurred_at >= $2)
  AND ($3::timestamptz IS NULL OR a.occurred_at < $3)"""
# The checkpoint covering an event: the first one that ends at or after it.
_COVERING: Final = """(SELECT c.seq FROM audit_checkpoints c
     WHERE (c.last_tx_id, c.last_position) >= (e.tx_id, e.global_position)
     ORDER BY c.last_tx_id, c.last_position LIMIT 1)"""
_EVENT_COLUMNS: Final = f"""e.global_position, e.tx_id, e.occurred_at, e.stream_id,
    e.stream_version, e.event_id, e.event_type, e.schema_version, e.metadata::text, e.data,
    e.prev_hash, e.hash, {_COVERING} AS checkpoint"""

# $4, $5: the audit trail's checkpoint; every checkpoint ending after it may cover the tail.
# The newest is always included: an event claimed "not yet checkpointed" must come after it.
_CHECKPOINTS: Final = f"""
SELECT seq, kid, jws FROM audit_checkpoints
WHERE seq IN (SELECT {_COVERING} FROM audit_trail a
              JOIN events e ON e.global_position = a.global_position
              WHERE a.subject_user = $1 AND {_TIME_WINDOW})
   OR (last_tx_id, last_position) > ($4::xid8, $5::bigint)
   OR seq = (SELECT max(seq) FROM audit_checkpoints)
ORDER BY seq
"""
_TRAIL_EVENTS: Final = f"""
SELECT {_EVENT_COLUMNS} FROM audit_trail a JOIN events e ON e.global_position = a.global_position
WHERE a.subject_user = $1 AND {_TIME_WINDOW}
ORDER BY e.tx_id, e.global_position
"""
# Not projected yet: the subject is decided here, by the trail's own rule.
_TAIL_EVENTS: Final = f"""
SELECT {_EVENT_COLUMNS} FROM events e
WHERE (e.tx_id, e.global_position) > ($3::xid8, $4::bigint)
  AND ($1::timestamptz IS NULL OR e.occurred_at >= $1)
  AND ($2::timestamptz IS NULL OR e.occurred_at < $2)
ORDER BY e.tx_id, e.global_position
"""

_metadata = msgspec.json.Decoder(Metadata)


class ExportSummary(msgspec.Struct, kw_only=True):
    events: int = 0
    checkpointed: int = 0
    not_yet_checkpointed: int = 0
    not_in_checkpoint: int = 0
    checkpoints: int = 0


class ExportWriter:
    """Writes the header JSON (in pieces) and the events, as NDJSON or as CSV."""

    def __init__(self, out: TextIO, fmt: ExportFormat) -> None:
        self._out = out
        self._csv = csv.writer(out, lineterminator="\n") if fmt == "csv" else None
        self._started = False

    def header(self, piece: bytes) -> None:
        if not self._started and self._csv is not None:
            self._out.write("# ")  # CSV: the header is a comment line before the rows
        self._started = True
        self._out.write(piece.decode())

    def end_header(self) -> None:
        self._out.write("\n")
        if self._csv is not None:
            self._csv.writerow(EVENT_COLUMNS)

    def event(self, exported: ExportedEvent) -> None:
        if self._csv is None:
            self._out.write(msgspec.json.encode(exported).decode() + "\n")
        else:
            self._csv.writerow(_cells(exported))


def _cells(exported: ExportedEvent) -> list[str]:
    values: dict[str, Any] = msgspec.to_builtins(exported)
    values["metadata"] = encode_metadata(exported.metadata).decode()
    if exported.proof is not None:
        values["proof"] = msgspec.json.encode(exported.proof).decode()
    if exported.personal is not None:
        values["personal"] = msgspec.json.encode(exported.personal).decode()
    return ["" if values[column] is None else str(values[column]) for column in EVENT_COLUMNS]


class _Placement(NamedTuple):
    status: EventStatus
    checkpoint: int | None = None
    leaf_index: int | None = None
    tree_size: int | None = None
    proof: list[str] | None = None


class _Proofs:
    """Inclusion proofs from the segment's manifest, one segment's tree kept at a time."""

    def __init__(self, conn: Connection) -> None:
        self._conn = conn
        self._seq: int | None = None
        self._index: dict[int, int] = {}
        self._hashes: list[bytes] = []
        self._tree: MerkleTree | None = None

    async def place(self, seq: int | None, position: int, digest: bytes) -> _Placement:
        if seq is None:
            return _Placement("not_yet_checkpointed")
        if seq != self._seq:
            manifest = await audit_checkpoints.manifest(self._conn, seq)
            entries = manifest.entries() if manifest is not None else []
            self._seq, self._hashes = seq, [entry.hash for entry in entries]
            self._index = {entry.global_position: i for i, entry in enumerate(entries)}
            self._tree = MerkleTree(self._hashes) if entries else None
        index = self._index.get(position)
        if index is None or self._tree is None or self._hashes[index] != digest:
            return _Placement("not_in_checkpoint", seq)
        proof = [sibling.hex() for sibling in self._tree.inclusion_proof(index)]
        return _Placement("checkpointed", seq, index, self._tree.size, proof)


async def export_user(
    pool: asyncpg.Pool,
    writer: ExportWriter,
    *,
    user: str,
    start: datetime | None,
    end: datetime | None,
    now: datetime,
    personal: PersonalData | None = None,
) -> ExportSummary:
    """With `personal`, each event carries its personal values as they read now."""
    summary = ExportSummary()
    async with pool.acquire() as conn, conn.transaction(readonly=True, isolation="repeatable_read"):
        trail = await checkpoints.load(conn, audit_trail.NAME)
        args = (user, start, end, trail.tx_id, trail.global_position)
        jwks = [msgspec.json.decode(text) for text in await audit_checkpoints.public_keys(conn)]
        header = ExportHeader(user=user, from_=start, to=end, exported_at=now, jwks=Jwks(jwks))
        opening = msgspec.json.encode(header)
        assert opening.endswith(b"[]}")  # `checkpoints` is the last field: stream it in
        writer.header(opening[:-2])
        async for row in conn.cursor(_CHECKPOINTS, *args, prefetch=_PREFETCH):
            separator = b"," if summary.checkpoints else b""
            writer.header(separator + msgspec.json.encode(ExportedCheckpoint(*row.values())))
            summary.checkpoints += 1
        writer.header(b"]}")
        writer.end_header()
        proofs = _Proofs(conn)
        async for exported in _user_events(conn, args, proofs, personal):
            writer.event(exported)
            summary.events += 1
            if exported.status == "checkpointed":
                summary.checkpointed += 1
            elif exported.status == "not_yet_checkpointed":
                summary.not_yet_checkpointed += 1
            else:
                summary.not_in_checkpoint += 1
    return summary


async def _user_events(
    conn: Connection, args: Sequence[object], proofs: _Proofs, personal: PersonalData | None
) -> AsyncIterator[ExportedEvent]:
    user = args[0]
    async for row in conn.cursor(_TRAIL_EVENTS, *args[:3], prefetch=_PREFETCH):
        metadata = _metadata.decode(row["metadata"])
        opened = await _opened(conn, personal, row, metadata)
        yield await _exported(row, metadata, proofs, opened)
    async for row in conn.cursor(_TAIL_EVENTS, *args[1:], prefetch=_PREFETCH):
        metadata = _metadata.decode(row["metadata"])
        if _subject(row, metadata) == user:
            opened = await _opened(conn, personal, row, metadata)
            yield await _exported(row, metadata, proofs, opened)


async def _opened(
    conn: Connection, personal: PersonalData | None, row: asyncpg.Record, metadata: Metadata
) -> dict[str, str] | None:
    """The event's personal values as they read now, by field; None if it holds none."""
    if personal is None:
        return None
    try:
        event = decode_event(row["event_type"], row["schema_version"], row["data"])
    except (msgspec.MsgspecError, KeyError, ValueError):
        return None
    return await personal.read(conn, event, metadata) or None


def _subject(row: asyncpg.Record, metadata: Metadata) -> str | None:
    if metadata.subject_user is not None:
        return metadata.subject_user
    try:
        event = decode_event(row["event_type"], row["schema_version"], row["data"])
    except (msgspec.MsgspecError, KeyError, ValueError):
        return None  # not an event this version knows: the trail could not name its user
    return audit_trail.subject_of(event)


async def _exported(
    row: asyncpg.Record, metadata: Metadata, proofs: _Proofs, opened: dict[str, str] | None
) -> ExportedEvent:
    place = await proofs.place(row["checkpoint"], row["global_position"], row["hash"])
    return ExportedEvent(
        global_position=row["global_position"],
        tx_id=row["tx_id"],
        occurred_at=row["occurred_at"],
        stream_id=row["stream_id"],
        stream_version=row["stream_version"],
        event_id=row["event_id"],
        event_type=row["event_type"],
        schema_version=row["schema_version"],
        metadata=metadata,
        # Only a tampered row holds bytes that are not UTF-8; its hash check then fails.
        data=bytes(row["data"]).decode("utf-8", errors="replace"),
        prev_hash=bytes(row["prev_hash"]).hex(),
        hash=bytes(row["hash"]).hex(),
        status=place.status,
        checkpoint=place.checkpoint,
        leaf_index=place.leaf_index,
        tree_size=place.tree_size,
        proof=place.proof,
        personal=opened,
    )
