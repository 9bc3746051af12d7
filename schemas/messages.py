"""NATS payloads and subjects: the contract downstream consumers rely on."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

import msgspec

__all__ = ["EventMessage", "event_subject", "events_wildcard", "revocations_wildcard"]


class EventMessage(msgspec.Struct, frozen=True, kw_only=True):
    """One logged event as published on `<prefix>.events.<stream type>.<event type>`.

    `data` is the stored event payload (tagged by `type`) and `metadata` the stored
    Metadata, both byte for byte as hashed, so a consumer can check `hash` itself.
    """

    event_id: UUID
    global_position: int
    stream_id: str
    stream_version: int
    event_type: str
    schema_version: int
    occurred_at: datetime
    metadata: msgspec.Raw
    data: msgspec.Raw
    hash: str


def event_subject(prefix: str, stream_type: str, event_type: str) -> str:
    return f"{prefix}.events.{stream_type}.{event_type}"


def events_wildcard(prefix: str) -> str:
    return f"{prefix}.events.>"


def revocations_wildcard(prefix: str) -> str:
    return f"{prefix}.revocations.>"
