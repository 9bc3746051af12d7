"""The archive file of one partition of the log: gzip'd NDJSON, a header line then one line
per event in log order ((tx_id, global_position), the order checkpoints seal).

Each event line holds the row exactly as the database held it: `data` and the hashes as
base64, `metadata` as the stored JSON, so every hash can be recomputed from the file alone.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal
from uuid import UUID

import msgspec

__all__ = ["FORMAT", "ArchiveHeader", "ArchivedEvent"]

FORMAT = "keyledger-archive"


class ArchiveHeader(msgspec.Struct, frozen=True, kw_only=True):
    format: Literal["keyledger-archive"] = "keyledger-archive"
    version: int = 1
    partition: str
    # The positions the partition held: [lower, upper).
    lower: int
    upper: int
    events: int
    # SHA-256 (hex) over each event's position (8 bytes, big-endian) and hash, in file order.
    digest: str
    before: datetime
    archived_at: datetime
    # The signed checkpoints (JWS) that seal these events, in `seq` order: the proof that
    # travels with the file (the database keeps them too).
    checkpoints: tuple[str, ...] = ()


class ArchivedEvent(msgspec.Struct, frozen=True, kw_only=True):
    global_position: int
    tx_id: int
    stream_id: str
    stream_version: int
    event_id: UUID
    event_type: str
    schema_version: int
    occurred_at: datetime
    metadata: msgspec.Raw
    data: bytes
    prev_hash: bytes
    hash: bytes
