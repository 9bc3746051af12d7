"""The relay follows each revoking event with its revocation: same order, own dedupe id."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import asyncpg
import pytest

from domain.revocation import Lifetimes, revocation_of
from infra.config import Settings
from infra.nats_bus import REVOCATION_HEADER, EventBus, _message
from infra.postgres.event_store import NEW_STREAM, EventStore, read_after
from infra.postgres.event_store import START as LOG_START
from infra.postgres.notify import Wakeup
from projections import INLINE_BULK, inline_statements
from schemas.envelope import Metadata, NewEvent
from schemas.events import ClientRegistered, ClientSuspended, ConsentWithdrawn, Event
from schemas.revocations import ClientRevocation, UserClientRevocation, revocation_msg_id
from services.relay import Relay
from tests.factories import access_token_issued, token_stream
from tests.jetstream import raw_messages, revocation_messages, stream_messages


@pytest.fixture
async def bus(fresh_settings: Settings) -> AsyncIterator[EventBus]:
    assert fresh_settings.nats_url is not None
    bus = await EventBus.connect(
        fresh_settings.nats_url, stream=fresh_settings.nats_stream,
        prefix=fresh_settings.subject_prefix, name="test-relay",
    )  # fmt: skip
    await bus.ensure_stream()
    yield bus
    await bus.close()


def _new(event: Event) -> NewEvent:
    return NewEvent(
        event=event, event_id=uuid.uuid4(), occurred_at=datetime.now(UTC),
        metadata=Metadata(actor="admin"),
    )  # fmt: skip


async def test_a_revoking_event_is_followed_by_its_revocation_on_its_kinds_subject(
    fresh_pool: asyncpg.Pool, bus: EventBus
) -> None:
    store = EventStore(fresh_pool, inline=inline_statements, bulk=INLINE_BULK)
    registered = ClientRegistered(
        client_id="billing", name="billing", confidential=True, access_token_ttl=600
    )
    await store.append("client-billing", NEW_STREAM, [_new(registered)])
    suspended = _new(ClientSuspended(client_id="billing", reason="incident"))
    _, head = await store.read_stream("client-billing")
    await store.append("client-billing", head, [suspended])
    withdrawn = _new(ConsentWithdrawn(user_id="u1", client_id="unknown"))
    await store.append("consent-u1.unknown", NEW_STREAM, [withdrawn])
    await store.append(token_stream(), NEW_STREAM, [access_token_issued()])

    async with fresh_pool.acquire() as conn:
        assert await Relay(fresh_pool, bus, Wakeup()).publish_once(conn) == 4

    messages = await raw_messages(bus)
    prefix = bus.prefix
    assert [subject for subject, _, _ in messages] == [
        f"{prefix}.events.client.client_registered",
        f"{prefix}.events.client.client_suspended",
        f"{prefix}.revocations.client",
        f"{prefix}.events.consent.consent_withdrawn",
        f"{prefix}.revocations.user_client",
        f"{prefix}.events.token_family.access_token_issued",
    ]
    event_headers, revocation_headers = messages[1][2], messages[2][2]
    assert revocation_headers["Nats-Msg-Id"] == revocation_msg_id(suspended.event_id)
    assert event_headers["Nats-Msg-Id"] == str(suspended.event_id)
    assert event_headers[REVOCATION_HEADER] == revocation_headers["Nats-Msg-Id"]
    assert revocation_headers["Keyledger-Position"] == event_headers["Keyledger-Position"]

    client, consent = await revocation_messages(bus)
    assert isinstance(client, ClientRevocation)
    assert client.event_id == suspended.event_id
    assert client.issued_before == suspended.occurred_at + timedelta(seconds=2)
    # The client's own lifetime (600 s), read from its registration.
    assert client.expires_at == client.issued_before + timedelta(seconds=600)
    assert isinstance(consent, UserClientRevocation)
    assert consent.expires_at == withdrawn.occurred_at + timedelta(hours=24)  # unknown client


async def test_a_revocation_lost_after_its_event_is_sent_on_realignment(
    fresh_pool: asyncpg.Pool, bus: EventBus
) -> None:
    store = EventStore(fresh_pool)
    withdrawn = _new(ConsentWithdrawn(user_id="u1", client_id="c1"))
    await store.append("consent-u1.c1", NEW_STREAM, [withdrawn])
    relay = Relay(fresh_pool, bus, Wakeup())
    # NATS stored the event (its header naming the revocation to follow) and died before the
    # revocation: exactly what a crash between the two writes leaves behind.
    async with fresh_pool.acquire() as conn:
        (stored,) = await read_after(conn, LOG_START, 10)
    revocation = revocation_of(stored.decode(), Lifetimes())
    assert revocation is not None
    subject, payload, headers = _message(bus.prefix, stored, revocation)
    await bus.js.publish(subject, payload, headers=headers)

    await relay.align_with_stream()
    async with fresh_pool.acquire() as conn:
        assert await relay.publish_once(conn) == 1  # the event again: JetStream drops it

    assert [m.event_id for m in await stream_messages(bus)] == [withdrawn.event_id]
    assert [r.event_id for r in await revocation_messages(bus)] == [withdrawn.event_id]
