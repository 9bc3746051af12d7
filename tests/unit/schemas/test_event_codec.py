"""Events encode deterministically, decode to their class; the published schema is deliberate."""

from __future__ import annotations

import json
from pathlib import Path

import msgspec

from schemas.events import decode_event, encode_event, event_type_of, schema_version_of
from schemas.jsonschema import events_schema
from tests.factories import access_token_issued, client_registered

SNAPSHOT = Path(__file__).parents[2] / "fixtures" / "events.schema.json"


def test_every_event_round_trips_through_its_stored_bytes() -> None:
    for new in (access_token_issued(), client_registered("c1")):
        data = encode_event(new.event)
        event_type = event_type_of(new.event)
        assert decode_event(event_type, schema_version_of(event_type), data) == new.event
        assert json.loads(data)["type"] == event_type


def test_encoding_is_deterministic() -> None:
    event = access_token_issued().event
    assert encode_event(event) == encode_event(event)


def test_the_generated_schema_matches_the_reviewed_snapshot() -> None:
    # A failure here means the published contract changed: regenerate the snapshot with
    # `keyledger schema events > tests/fixtures/events.schema.json` once the change is intended.
    assert json.loads(msgspec.json.encode(events_schema())) == json.loads(SNAPSHOT.read_text())
