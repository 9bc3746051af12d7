"""The consents projection's statements: one upsert per grant, one update per withdrawal."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from projections.consents import PROJECTION, statements
from schemas.envelope import Metadata, RecordedEvent
from schemas.events import ConsentGranted, ConsentWithdrawn, Event, UserDisabled, to_snake_case

AT = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)


def _recorded(event: Event, version: int, metadata: Metadata | None = None) -> RecordedEvent:
    return RecordedEvent(
        global_position=100 + version,
        tx_id=7,
        stream_id="consent-u1.c1",
        stream_version=version,
        event_id=uuid.uuid4(),
        event_type=to_snake_case(type(event).__name__),
        schema_version=1,
        occurred_at=AT,
        event=event,
        metadata=metadata or Metadata(actor="user", actor_id="u1"),
        hash=b"\x00" * 32,
    )


def test_grants_and_withdrawals_write_the_pair_with_their_stream_version() -> None:
    grant = ConsentGranted(user_id="u1", client_id="c1", scopes=("openid", "read"))
    (upsert,) = statements(_recorded(grant, 1, Metadata(actor="user", workspace_id="ws-1")))
    # The metadata's workspace, else the client's (looked up by the statement).
    assert upsert.args == ("u1", "c1", "ws-1", ["openid", "read"], AT, 1)
    assert "FROM clients WHERE client_id = $2" in upsert.sql

    (withdraw,) = statements(_recorded(ConsentWithdrawn(user_id="u1", client_id="c1"), 2))
    assert withdraw.args == ("u1", "c1", AT, 2)
    # A replayed event never overwrites a later one.
    assert "stream_version < $4" in withdraw.sql
    assert "c.stream_version < excluded.stream_version" in upsert.sql


def test_only_consent_events_are_read() -> None:
    assert PROJECTION.handles == {"consent_granted", "consent_withdrawn"}
    assert statements(_recorded(UserDisabled(user_id="u1", reason="left"), 1)) == []
    assert not PROJECTION.inline
