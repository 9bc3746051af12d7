"""The hash-chain rule is a published contract: a fixed input has a fixed hash."""

from __future__ import annotations

import hashlib
import uuid
from datetime import UTC, datetime

from schemas.canonical import GENESIS_HASH, event_hash
from schemas.envelope import Metadata


def _hash(metadata: Metadata, prev: bytes = GENESIS_HASH, data: bytes = b'{"type":"x"}') -> str:
    return event_hash(
        prev,
        stream_id="client-00000000-0000-0000-0000-000000000001",
        stream_version=1,
        event_id=uuid.UUID("11111111-2222-3333-4444-555555555555"),
        event_type="client_registered",
        schema_version=1,
        occurred_at=datetime(2026, 1, 2, 3, 4, 5, 678901, tzinfo=UTC),
        metadata=metadata,
        data=data,
    ).hex()


def test_the_hash_follows_the_documented_rule_byte_for_byte() -> None:
    # What an offline verifier writes from the schemas/canonical.py docstring alone.
    header = (
        b'["client-00000000-0000-0000-0000-000000000001",1,'
        b'"11111111-2222-3333-4444-555555555555","client_registered",1,'
        b'"2026-01-02T03:04:05.678901Z",{"actor":"admin","actor_id":"ops","ip":"198.51.100.7"}]'
    )
    data = b'{"type":"x"}'
    expected = hashlib.sha256(GENESIS_HASH + len(header).to_bytes(4, "big") + header + data)

    assert _hash(Metadata(actor="admin", actor_id="ops", ip="198.51.100.7")) == expected.hexdigest()


def test_every_hashed_part_changes_the_hash() -> None:
    base = _hash(Metadata())
    assert _hash(Metadata(ip="198.51.100.7")) != base
    assert _hash(Metadata(), prev=b"\x01" * 32) != base
    assert _hash(Metadata(), data=b'{"type":"y"}') != base
