"""Verifying the hash chain (schemas/canonical.py): what `keyledger audit verify` checks.

Events are fed in (stream_id, stream_version) order. Each must start from the genesis hash
or extend the previous event of its stream, carry the next version, and hash to what is
stored; any break is reported with the event it was found at.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Literal
from uuid import UUID

import msgspec
from schemas.canonical import GENESIS_HASH, event_hash
from schemas.envelope import Metadata

__all__ = ["ChainBreak", "ChainReport", "ChainVerifier", "LoggedEvent", "hash_of", "verify_chains"]

BreakKind = Literal["altered", "missing_before", "reordered_or_removed"]


class LoggedEvent(msgspec.Struct, frozen=True, kw_only=True):
    """A stored event exactly as the log holds it."""

    global_position: int
    stream_id: str
    stream_version: int
    event_id: UUID
    event_type: str
    schema_version: int
    occurred_at: datetime
    metadata: Metadata
    data: bytes
    prev_hash: bytes
    hash: bytes


class ChainBreak(msgspec.Struct, frozen=True, kw_only=True):
    kind: BreakKind
    stream_id: str
    stream_version: int
    global_position: int
    event_id: UUID
    detail: str


class ChainReport(msgspec.Struct, kw_only=True):
    events: int = 0
    streams: int = 0
    last_position: int = 0
    breaks: list[ChainBreak] = msgspec.field(default_factory=list)

    @property
    def intact(self) -> bool:
        return not self.breaks


class ChainVerifier:
    """Checks events one at a time, so a log of any size is verified in constant memory."""

    def __init__(self) -> None:
        self.report = ChainReport()
        self._stream: str | None = None
        self._version = 0
        self._head = GENESIS_HASH

    def add(self, event: LoggedEvent) -> ChainBreak | None:
        if event.stream_id != self._stream:
            self._stream, self._version, self._head = event.stream_id, 0, GENESIS_HASH
            self.report.streams += 1
        found = self._check(event)
        self.report.events += 1
        self.report.last_position = max(self.report.last_position, event.global_position)
        if found is not None:
            self.report.breaks.append(found)
        self._version, self._head = event.stream_version, event.hash
        return found

    def _check(self, event: LoggedEvent) -> ChainBreak | None:
        if event.stream_version != self._version + 1:
            return _break("missing_before", event, f"version {self._version + 1} is missing")
        if event.prev_hash != self._head:
            return _break("reordered_or_removed", event, "does not extend the event before it")
        if hash_of(event) != event.hash:
            return _break("altered", event, "content does not match its stored hash")
        return None


def hash_of(event: LoggedEvent) -> bytes:
    """The hash the chain rule gives this event's stored content and prev_hash."""
    return event_hash(
        event.prev_hash,
        stream_id=event.stream_id,
        stream_version=event.stream_version,
        event_id=event.event_id,
        event_type=event.event_type,
        schema_version=event.schema_version,
        occurred_at=event.occurred_at,
        metadata=event.metadata,
        data=event.data,
    )


def _break(kind: BreakKind, event: LoggedEvent, detail: str) -> ChainBreak:
    return ChainBreak(
        kind=kind,
        stream_id=event.stream_id,
        stream_version=event.stream_version,
        global_position=event.global_position,
        event_id=event.event_id,
        detail=detail,
    )


def verify_chains(events: Iterable[LoggedEvent]) -> ChainReport:
    """Check every stream's chain; events must come in (stream_id, stream_version) order."""
    verifier = ChainVerifier()
    for event in events:
        verifier.add(event)
    return verifier.report
