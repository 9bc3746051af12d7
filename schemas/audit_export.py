"""`keyledger audit export`: a user's events with what proves them offline. A contract.

NDJSON: the first line is an ExportHeader (the signed checkpoints involved and the public
keys that signed them), then one ExportedEvent per line. CSV: the first line is `# ` and
the same header JSON, then a row of column names (EVENT_COLUMNS) and one row per event,
with `metadata`, `data` and `proof` as JSON text and empty cells for absent values.

Each event carries every field its hash covers (schemas/canonical.py): recompute it from
`prev_hash` and the canonical header, then climb `proof` (RFC 6962, nearest sibling first)
from leaf `leaf_index` of `tree_size` to the `merkle_root` signed by checkpoint `checkpoint`.
"""

from __future__ import annotations

from datetime import datetime
from typing import Final, Literal
from uuid import UUID

import msgspec

from schemas.envelope import Metadata

__all__ = [
    "EVENT_COLUMNS",
    "EXPORT_FORMAT",
    "EventStatus",
    "ExportHeader",
    "ExportedCheckpoint",
    "ExportedEvent",
    "Jwks",
]

EXPORT_FORMAT: Final = "keyledger-audit-export"

# checkpointed: `proof` leads to the checkpoint's signed root. not_yet_checkpointed: after
# the last checkpoint; only its hash can be checked. not_in_checkpoint: the log no longer
# holds this event as its checkpoint signed it (`keyledger audit verify` says more).
EventStatus = Literal["checkpointed", "not_yet_checkpointed", "not_in_checkpoint"]


class ExportedCheckpoint(msgspec.Struct, frozen=True):
    seq: int
    kid: str
    jws: str


class Jwks(msgspec.Struct, frozen=True):
    keys: list[dict[str, str]]


class ExportHeader(msgspec.Struct, frozen=True, kw_only=True, tag_field="record", tag="header"):
    format: str = EXPORT_FORMAT
    version: int = 1
    user: str
    # The window on `occurred_at`: from inclusive, to exclusive; null is unbounded.
    from_: datetime | None = msgspec.field(name="from", default=None)
    to: datetime | None = None
    exported_at: datetime
    # Every signing key the service holds, retired ones included (public halves only).
    jwks: Jwks
    # Last, so that an export streams them (memory stays flat however many).
    checkpoints: list[ExportedCheckpoint] = msgspec.field(default_factory=list)


class ExportedEvent(msgspec.Struct, frozen=True, kw_only=True, tag_field="record", tag="event"):
    global_position: int
    tx_id: int
    occurred_at: datetime
    stream_id: str
    stream_version: int
    event_id: UUID
    event_type: str
    schema_version: int
    metadata: Metadata
    # The stored payload bytes as UTF-8 text: exactly what was hashed.
    data: str
    prev_hash: str
    hash: str
    status: EventStatus
    checkpoint: int | None = None
    leaf_index: int | None = None
    tree_size: int | None = None
    proof: list[str] | None = None
    # The event's personal values (schemas/personal_data.py) as they read at export time, by
    # field: in clear, or "[erased]" once their person is erased. `data` and `metadata` keep
    # them sealed, as hashed. Null when the event holds none.
    personal: dict[str, str] | None = None


EVENT_COLUMNS: Final = ExportedEvent.__struct_fields__
