"""Signed checkpoints over the log: sealing a segment, and the rules `audit verify` checks.

A checkpoint (schemas/audit_checkpoint.py) commits to its segment's event count, Merkle root
and order, and to the previous checkpoint. Verifying takes the checkpoints in `seq` order,
each with the events the log now holds in its range, and names every difference: a
checkpoint missing, forged or edited, and each event altered, removed, inserted or moved.

The row of a checkpoint also keeps its manifest: the (tx_id, position, hash) of every event
it covers. The signed root and order digest authenticate the manifest, and comparing the
manifest with the log is what names the exact event when a segment no longer matches.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from typing import Literal, NamedTuple
from uuid import UUID

import msgspec
from schemas.audit_checkpoint import GENESIS_CHECKPOINT, AuditCheckpoint

from domain.merkle import merkle_root

__all__ = [
    "CheckpointBreak",
    "CheckpointReport",
    "CheckpointVerifier",
    "LoggedLeaf",
    "Manifest",
    "SegmentEvent",
    "StoredCheckpoint",
    "order_digest",
    "payload_hash",
    "seal",
]

BreakKind = Literal[
    "signature", "row_edited", "chain", "segment", "altered", "removed", "inserted", "reordered"
]
_KEY = 16  # u64be tx_id || u64be position
_HASH = 32


class SegmentEvent(NamedTuple):
    """An event's place in the log and its hash: what a checkpoint commits to."""

    tx_id: int
    global_position: int
    hash: bytes


class LoggedLeaf(NamedTuple):
    """An event as the log holds it now, with what names it in a report."""

    tx_id: int
    global_position: int
    hash: bytes
    stream_id: str
    stream_version: int
    event_id: UUID


def order_digest(events: Iterable[SegmentEvent | LoggedLeaf]) -> bytes:
    digest = hashlib.sha256()
    for event in events:
        digest.update(event.tx_id.to_bytes(8, "big") + event.global_position.to_bytes(8, "big"))
    return digest.digest()


def payload_hash(payload: bytes) -> bytes:
    """What the next checkpoint's `prev_sha256` names: the payload bytes exactly as signed."""
    return hashlib.sha256(payload).digest()


def seal(
    events: Sequence[SegmentEvent],
    *,
    previous: tuple[AuditCheckpoint, bytes] | None,
    issuer: str,
    iat: int,
) -> AuditCheckpoint:
    """The checkpoint of the segment `events` (in log order) after `previous` (its payload and
    signed bytes), or the first one."""
    if not events:
        raise ValueError("a checkpoint covers at least one event")
    first, last = events[0], events[-1]
    seq, prev = 1, GENESIS_CHECKPOINT
    if previous is not None:
        before, signed = previous
        if (first.tx_id, first.global_position) <= (before.last_tx_id, before.last_position):
            raise ValueError(f"the segment overlaps checkpoint {before.seq}")
        seq, prev = before.seq + 1, payload_hash(signed)
    return AuditCheckpoint(
        iss=issuer,
        iat=iat,
        seq=seq,
        first_tx_id=first.tx_id,
        first_position=first.global_position,
        last_tx_id=last.tx_id,
        last_position=last.global_position,
        event_count=len(events),
        merkle_root=merkle_root(event.hash for event in events).hex(),
        order_sha256=order_digest(events).hex(),
        prev_sha256=prev.hex(),
    )


class Manifest(NamedTuple):
    """Each covered event's u64be tx_id || u64be position, and its hash, concatenated."""

    order_keys: bytes
    event_hashes: bytes

    @classmethod
    def of(cls, events: Sequence[SegmentEvent]) -> Manifest:
        keys = b"".join(
            e.tx_id.to_bytes(8, "big") + e.global_position.to_bytes(8, "big") for e in events
        )
        return cls(keys, b"".join(event.hash for event in events))

    def entries(self) -> list[SegmentEvent]:
        keys, hashes = self.order_keys, self.event_hashes
        return [
            SegmentEvent(
                int.from_bytes(keys[i * _KEY : i * _KEY + 8], "big"),
                int.from_bytes(keys[i * _KEY + 8 : (i + 1) * _KEY], "big"),
                hashes[i * _HASH : (i + 1) * _HASH],
            )
            for i in range(len(hashes) // _HASH)
        ]

    def proves(self, checkpoint: AuditCheckpoint) -> bool:
        """Whether these are exactly the events `checkpoint` signed for."""
        count = checkpoint.event_count
        if len(self.order_keys) != count * _KEY or len(self.event_hashes) != count * _HASH:
            return False
        entries = self.entries()
        return (
            order_digest(entries).hex() == checkpoint.order_sha256
            and merkle_root(entry.hash for entry in entries).hex() == checkpoint.merkle_root
        )


class StoredCheckpoint(msgspec.Struct, frozen=True, kw_only=True):
    """A checkpoint row as stored, with what its JWS says (`signed` is None if unreadable)."""

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
    manifest: Manifest
    signed: AuditCheckpoint | None
    payload: bytes
    signature_valid: bool


class CheckpointBreak(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    kind: BreakKind
    checkpoint: int
    detail: str
    global_position: int | None = None
    tx_id: int | None = None
    stream_id: str | None = None
    stream_version: int | None = None
    event_id: UUID | None = None


class CheckpointReport(msgspec.Struct, kw_only=True):
    checkpoints: int = 0
    events: int = 0
    # The last checkpointed event (tx_id, global_position order): everything up to it is signed.
    last_tx_id: int = 0
    last_position: int = 0
    breaks: list[CheckpointBreak] = msgspec.field(default_factory=list)


class CheckpointVerifier:
    """Checks checkpoints one at a time in `seq` order, each against the events now in its range.

    The caller reads, for each checkpoint, the events after `covered` up to the checkpoint's
    `bounds`; memory is one segment's, however long the log.
    """

    def __init__(self) -> None:
        self.report = CheckpointReport()
        self._seq = 0
        self._prev_hash = GENESIS_CHECKPOINT

    @property
    def covered(self) -> tuple[int, int]:
        return self.report.last_tx_id, self.report.last_position

    @staticmethod
    def bounds(stored: StoredCheckpoint) -> tuple[int, int]:
        claimed = stored.signed or _from_row(stored)
        return claimed.last_tx_id, claimed.last_position

    def add(self, stored: StoredCheckpoint, current: Sequence[LoggedLeaf]) -> list[CheckpointBreak]:
        claimed = stored.signed or _from_row(stored)
        found = [*_signature_and_row(stored), *self._chain(claimed)]
        first = (claimed.first_tx_id, claimed.first_position)
        within = [leaf for leaf in current if (leaf.tx_id, leaf.global_position) >= first]
        if claimed.seq == self._seq + 1:
            found += [
                _leaf_break("inserted", claimed.seq, leaf, "between two checkpoints, in neither")
                for leaf in current[: len(current) - len(within)]
            ]
        found += _compare(claimed, stored.manifest, within)
        self._seq, self._prev_hash = claimed.seq, payload_hash(stored.payload)
        self.report.checkpoints += 1
        self.report.events += len(within)
        self.report.last_tx_id = claimed.last_tx_id
        self.report.last_position = claimed.last_position
        self.report.breaks += found
        return found

    def _chain(self, claimed: AuditCheckpoint) -> list[CheckpointBreak]:
        seq = claimed.seq
        if seq <= self._seq:
            return [CheckpointBreak(kind="chain", checkpoint=seq, detail="repeats an earlier seq")]
        if seq > self._seq + 1:
            missing = f"{self._seq + 1}" + (f" to {seq - 1}" if seq - 1 > self._seq + 1 else "")
            detail = f"checkpoint {missing} before it is missing; its events are unaccounted for"
            return [CheckpointBreak(kind="chain", checkpoint=seq, detail=detail)]
        found = []
        if claimed.prev_sha256 != self._prev_hash.hex():
            detail = f"does not extend checkpoint {self._seq} (prev_sha256 differs)"
            found.append(CheckpointBreak(kind="chain", checkpoint=seq, detail=detail))
        if (claimed.first_tx_id, claimed.first_position) <= self.covered:
            detail = f"its segment overlaps checkpoint {self._seq}'s"
            found.append(CheckpointBreak(kind="chain", checkpoint=seq, detail=detail))
        return found


def _from_row(stored: StoredCheckpoint) -> AuditCheckpoint:
    """The row's own columns, when its JWS cannot even be read (they prove nothing)."""
    return AuditCheckpoint(
        iss="",
        iat=0,
        seq=stored.seq,
        first_tx_id=stored.first_tx_id,
        first_position=stored.first_position,
        last_tx_id=stored.last_tx_id,
        last_position=stored.last_position,
        event_count=stored.event_count,
        merkle_root=stored.merkle_root.hex(),
        order_sha256="",
        prev_sha256=stored.prev_hash.hex(),
    )


def _signature_and_row(stored: StoredCheckpoint) -> list[CheckpointBreak]:
    seq, signed = stored.seq, stored.signed
    if signed is None:
        detail = "its JWS is not a readable checkpoint: forged or edited"
        return [CheckpointBreak(kind="signature", checkpoint=seq, detail=detail)]
    found = []
    if not stored.signature_valid:
        detail = f"signature does not verify with key {stored.kid!r}: forged or edited"
        found.append(CheckpointBreak(kind="signature", checkpoint=seq, detail=detail))
    columns = {
        "seq": (stored.seq, signed.seq),
        "first_tx_id": (stored.first_tx_id, signed.first_tx_id),
        "first_position": (stored.first_position, signed.first_position),
        "last_tx_id": (stored.last_tx_id, signed.last_tx_id),
        "last_position": (stored.last_position, signed.last_position),
        "event_count": (stored.event_count, signed.event_count),
        "merkle_root": (stored.merkle_root.hex(), signed.merkle_root),
        "prev_hash": (stored.prev_hash.hex(), signed.prev_sha256),
        "hash": (stored.hash, payload_hash(stored.payload)),
    }
    edited = [name for name, (column, truth) in columns.items() if column != truth]
    if not stored.manifest.proves(signed):
        edited.append("manifest")
    if edited:
        detail = f"row edited: {', '.join(edited)} not as signed"
        found.append(CheckpointBreak(kind="row_edited", checkpoint=seq, detail=detail))
    return found


def _compare(
    claimed: AuditCheckpoint, manifest: Manifest, within: Sequence[LoggedLeaf]
) -> list[CheckpointBreak]:
    """Nothing if the events now in the segment are the ones signed for; else each difference."""
    root = merkle_root(leaf.hash for leaf in within).hex()
    if (
        len(within) == claimed.event_count
        and root == claimed.merkle_root
        and order_digest(within).hex() in (claimed.order_sha256, "")
    ):
        return []
    if manifest.proves(claimed):
        named = _diff(claimed.seq, manifest.entries(), within)
        if named:
            return named
    detail = (
        f"{len(within)} events now where {claimed.event_count} were checkpointed, Merkle root"
        f" {'equal' if root == claimed.merkle_root else 'differs'}; the stored manifest does"
        " not match the signed root, so the changed event cannot be named"
    )
    return [CheckpointBreak(kind="segment", checkpoint=claimed.seq, detail=detail)]


def _diff(
    seq: int, was: Sequence[SegmentEvent], now: Sequence[LoggedLeaf]
) -> list[CheckpointBreak]:
    """Match events by hash (unique: it covers the event id), then by position."""
    was_by_hash = {entry.hash: entry for entry in was}
    was_by_position = {entry.global_position: entry for entry in was}
    now_hashes = {leaf.hash for leaf in now}
    found: list[CheckpointBreak] = []
    replaced: set[int] = set()
    for leaf in now:
        before = was_by_hash.get(leaf.hash)
        if before is not None:
            if (before.tx_id, before.global_position) != (leaf.tx_id, leaf.global_position):
                detail = (
                    f"checkpointed at position {before.global_position} in transaction"
                    f" {before.tx_id}, now at position {leaf.global_position} in transaction"
                    f" {leaf.tx_id}"
                )
                found.append(_leaf_break("reordered", seq, leaf, detail))
            continue
        at = was_by_position.get(leaf.global_position)
        if at is not None and at.hash not in now_hashes:
            replaced.add(at.global_position)
            detail = (
                f"checkpointed with hash {at.hash.hex()[:16]}…, the log now holds"
                f" {leaf.hash.hex()[:16]}… here"
            )
            found.append(_leaf_break("altered", seq, leaf, detail))
        else:
            found.append(_leaf_break("inserted", seq, leaf, "not among the events checkpointed"))
    for entry in was:
        if entry.hash not in now_hashes and entry.global_position not in replaced:
            detail = (
                f"the event checkpointed at position {entry.global_position} (transaction"
                f" {entry.tx_id}, hash {entry.hash.hex()[:16]}…) is no longer in the log"
            )
            found.append(
                CheckpointBreak(
                    kind="removed",
                    checkpoint=seq,
                    detail=detail,
                    global_position=entry.global_position,
                    tx_id=entry.tx_id,
                )
            )
    return found


def _leaf_break(kind: BreakKind, seq: int, leaf: LoggedLeaf, detail: str) -> CheckpointBreak:
    return CheckpointBreak(
        kind=kind,
        checkpoint=seq,
        detail=detail,
        global_position=leaf.global_position,
        tx_id=leaf.tx_id,
        stream_id=leaf.stream_id,
        stream_version=leaf.stream_version,
        event_id=leaf.event_id,
    )
