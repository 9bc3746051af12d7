"""The chain rule, checked event by event: alteration, removal and reordering are found."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import msgspec

from domain.chain import LoggedEvent, hash_of, verify_chains
from schemas.canonical import GENESIS_HASH
from schemas.envelope import Metadata


def chain(stream: str, count: int, start_position: int = 1) -> list[LoggedEvent]:
    events: list[LoggedEvent] = []
    head = GENESIS_HASH
    for version in range(1, count + 1):
        unhashed = LoggedEvent(
            global_position=start_position + version - 1,
            stream_id=stream,
            stream_version=version,
            event_id=uuid.uuid4(),
            event_type="access_token_revoked",
            schema_version=1,
            occurred_at=datetime(2026, 11, 23, 12, 0, version, tzinfo=UTC),
            metadata=Metadata(actor="client", actor_id="c"),
            data=b'{"type":"access_token_revoked","jti":"%d"}' % version,
            prev_hash=head,
            hash=b"",
        )
        head = rehash(unhashed).hash
        events.append(msgspec.structs.replace(unhashed, hash=head))
    return events


def rehash(event: LoggedEvent) -> LoggedEvent:
    """What a forger who knows the rule does: a fresh, self-consistent hash."""
    return msgspec.structs.replace(event, hash=hash_of(event))


def test_an_untouched_log_is_intact() -> None:
    report = verify_chains([*chain("a-1", 3), *chain("b-1", 2, start_position=4)])
    assert (report.intact, report.events, report.streams, report.last_position) == (True, 5, 2, 5)


def test_changed_content_is_altered_at_that_event() -> None:
    events = chain("a-1", 3)
    events[1] = msgspec.structs.replace(events[1], data=events[1].data.replace(b"2", b"9"))
    (found,) = verify_chains(events).breaks
    assert (found.kind, found.stream_version) == ("altered", 2)


def test_a_removed_event_is_missing_before_the_next() -> None:
    events = chain("a-1", 3)
    (found,) = verify_chains([events[0], events[2]]).breaks
    assert (found.kind, found.stream_version) == ("missing_before", 3)


def test_a_rewritten_event_with_a_fresh_hash_breaks_the_next_link() -> None:
    events = chain("a-1", 3)
    forged = rehash(msgspec.structs.replace(events[1], data=b"{}"))
    (found,) = verify_chains([events[0], forged, events[2]]).breaks
    assert (found.kind, found.stream_version) == ("reordered_or_removed", 3)
