"""What surrounds an event: who caused it and from where, and where it sits in the log."""

from __future__ import annotations

from datetime import datetime
from typing import Literal
from uuid import UUID

import msgspec

from schemas.events import Event

__all__ = ["ActorKind", "Metadata", "NewEvent", "RecordedEvent"]

ActorKind = Literal["user", "client", "admin", "system", "api_key"]


class Metadata(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    """Who, from where and in which request. Stored in the `metadata` column, hashed with the event.

    `omit_defaults` keeps the canonical bytes of old rows stable when a field is added later.
    """

    actor: ActorKind = "system"
    actor_id: str | None = None
    subject_user: str | None = None
    workspace_id: str | None = None
    client_id: str | None = None
    ip: str | None = None
    user_agent: str | None = None
    request_id: str | None = None
    correlation_id: str | None = None
    causation_id: str | None = None


class NewEvent(msgspec.Struct, frozen=True, kw_only=True):
    """An event about to be appended; the caller fills in ids and time, never the store."""

    event: Event
    event_id: UUID
    occurred_at: datetime
    metadata: Metadata = Metadata()


class RecordedEvent(msgspec.Struct, frozen=True, kw_only=True):
    """An event as read back from the log, with its place in it."""

    global_position: int
    tx_id: int
    stream_id: str
    stream_version: int
    event_id: UUID
    event_type: str
    schema_version: int
    occurred_at: datetime
    event: Event
    metadata: Metadata
    hash: bytes

    @property
    def stream_type(self) -> str:
        return stream_type_of(self.stream_id)


def stream_type_of(stream_id: str) -> str:
    """`token_family-3f2a...` -> `token_family`: the domain module that owns the stream."""
    return stream_id.split("-", 1)[0]
