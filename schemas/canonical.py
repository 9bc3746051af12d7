"""The hash-chain rule. A contract: `keyledger audit verify` and offline verifiers recompute it.

    hash(e) = SHA-256( prev_hash || u32be(len(header)) || header || data )

where `prev_hash` is the hash of the previous event in the same stream (32 zero bytes for
the first), `data` is the stored payload bytes, and `header` is the deterministic msgspec
JSON array

    [stream_id, stream_version, event_id, event_type, schema_version, occurred_at, metadata]

with `event_id` as a canonical UUID string, `occurred_at` as RFC 3339 UTC with microseconds
as msgspec writes it, and `metadata` as the Metadata object with default fields omitted.
"""

from __future__ import annotations

import hashlib
from datetime import datetime
from typing import Final
from uuid import UUID

import msgspec

from schemas.envelope import Metadata

__all__ = ["GENESIS_HASH", "encode_metadata", "event_hash"]

GENESIS_HASH: Final = bytes(32)

_encoder = msgspec.json.Encoder(order="deterministic")


def encode_metadata(metadata: Metadata) -> bytes:
    return _encoder.encode(metadata)


def event_hash(
    prev_hash: bytes,
    *,
    stream_id: str,
    stream_version: int,
    event_id: UUID,
    event_type: str,
    schema_version: int,
    occurred_at: datetime,
    metadata: Metadata,
    data: bytes,
) -> bytes:
    header = _encoder.encode(
        (stream_id, stream_version, event_id, event_type, schema_version, occurred_at, metadata)
    )
    digest = hashlib.sha256(prev_hash)
    digest.update(len(header).to_bytes(4, "big"))
    digest.update(header)
    digest.update(data)
    return digest.digest()
