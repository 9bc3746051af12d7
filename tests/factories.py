"""Plain builders for events used across tests."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from schemas.envelope import Metadata, NewEvent
from schemas.events import AccessTokenIssued, ClientRegistered, Jti


def token_stream() -> str:
    return f"token_family-{uuid.uuid4()}"


def access_token_issued(
    client_id: str = "client-a", subject: str | None = None, **metadata: str
) -> NewEvent:
    now = datetime.now(UTC)
    return NewEvent(
        event=AccessTokenIssued(
            jti=Jti(uuid.uuid4().hex),
            client_id=client_id,
            grant_type="client_credentials",
            scopes=("read",),
            expires_at=now + timedelta(hours=1),
            subject=subject,
        ),
        event_id=uuid.uuid4(),
        occurred_at=now,
        metadata=Metadata(actor="client", actor_id=client_id, client_id=client_id, **metadata),
    )


def client_registered(client_id: str) -> NewEvent:
    return NewEvent(
        event=ClientRegistered(client_id=client_id, name=client_id, confidential=True),
        event_id=uuid.uuid4(),
        occurred_at=datetime.now(UTC),
        metadata=Metadata(actor="admin", actor_id="ops"),
    )
