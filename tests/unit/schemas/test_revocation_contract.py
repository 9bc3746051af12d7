"""The revocation contract: one subject per kind, stable JSON, a reviewed JSON Schema."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from pathlib import Path

import msgspec

from schemas.jsonschema import revocations_schema
from schemas.revocations import (
    REVOCATION_TYPES,
    UserClientRevocation,
    decode_revocation,
    encode_revocation,
    revocation_msg_id,
    revocation_subject,
)

SNAPSHOT = Path(__file__).parents[2] / "fixtures" / "revocations.schema.json"
AT = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)


def test_a_revocation_is_compact_json_tagged_by_kind() -> None:
    event_id = uuid.UUID("6f1c0000-0000-4000-8000-000000000001")
    revocation = UserClientRevocation(
        event_id=event_id, global_position=1042, occurred_at=AT, expires_at=AT,
        cause="consent_withdrawn", user_id="u1", client_id="billing", issued_before=AT,
    )  # fmt: skip
    data = encode_revocation(revocation)
    assert json.loads(data) == {
        "kind": "user_client", "event_id": str(event_id), "global_position": 1042,
        "occurred_at": "2026-11-23T10:00:00Z", "expires_at": "2026-11-23T10:00:00Z",
        "cause": "consent_withdrawn", "user_id": "u1", "client_id": "billing",
        "issued_before": "2026-11-23T10:00:00Z",
    }  # fmt: skip
    assert decode_revocation(data) == revocation
    assert revocation_subject("keyledger", revocation) == "keyledger.revocations.user_client"
    # JetStream dedupes the revocation apart from the event that caused it.
    assert revocation_msg_id(event_id) != str(event_id)


def test_every_kind_has_its_own_subject_token() -> None:
    kinds = [cls.__struct_config__.tag for cls in REVOCATION_TYPES]
    assert kinds == [
        "token", "token_family", "client", "user_client", "user", "signing_key", "workspace",
        "api_key",
    ]  # fmt: skip
    assert all(isinstance(kind, str) and "." not in kind for kind in kinds)


def test_the_generated_schema_matches_the_reviewed_snapshot() -> None:
    # A failure means the contract changed: once intended, regenerate it with
    # `keyledger schema revocations > tests/fixtures/revocations.schema.json`.
    assert json.loads(msgspec.json.encode(revocations_schema())) == json.loads(SNAPSHOT.read_text())
