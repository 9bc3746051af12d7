"""Erasure redacts the audit trail through one function only, and only addresses and agents."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import asyncpg
import pytest

from infra.postgres.event_store import NEW_STREAM, EventStore
from projections import audit_trail
from schemas.envelope import Metadata, NewEvent
from schemas.events import LoginSucceeded
from schemas.personal_data import REDACTED
from services.projector import catch_up
from tests.personal import reader

_ROWS = "SELECT action, ip, user_agent FROM audit_trail WHERE subject_user = $1"


async def _signed_in(store: EventStore, user_id: str, ip: str) -> None:
    meta = Metadata(actor="user", actor_id=user_id, subject_user=user_id, ip=ip, user_agent="UA/1")
    event = LoginSucceeded(user_id=user_id, method="page")
    new = NewEvent(event=event, event_id=uuid.uuid4(), occurred_at=datetime.now(UTC), metadata=meta)
    await store.append(f"login-{uuid.uuid4().hex}", NEW_STREAM, [new])


async def test_only_the_redaction_function_updates_rows_and_only_the_persons_addresses(
    store: EventStore, pool: asyncpg.Pool
) -> None:
    erased, kept = uuid.uuid4().hex, uuid.uuid4().hex
    await _signed_in(store, erased, "192.0.2.10")
    await _signed_in(store, kept, "192.0.2.11")
    await catch_up(pool, audit_trail.PROJECTION, personal=reader(pool))
    async with pool.acquire() as conn:
        with pytest.raises(asyncpg.PostgresError, match="append-only"):
            await conn.execute("UPDATE audit_trail SET ip = NULL WHERE subject_user = $1", erased)
        with pytest.raises(asyncpg.PostgresError, match="append-only"):
            async with conn.transaction():
                # Naming the person is not enough: another column may not change with them.
                await conn.execute(
                    "SELECT set_config('keyledger.audit_redact_subject', $1, true)", erased
                )
                await conn.execute(
                    "UPDATE audit_trail SET ip = $2, action = 'forged' WHERE subject_user = $1",
                    erased, REDACTED,
                )  # fmt: skip
        assert await conn.fetchval("SELECT audit_trail_redact($1)", erased) == 1
        assert await conn.fetchval("SELECT audit_trail_redact($1)", erased) == 0  # once
        assert [tuple(r) for r in await conn.fetch(_ROWS, erased)] == [
            ("login_succeeded", REDACTED, REDACTED)
        ]
        assert [tuple(r) for r in await conn.fetch(_ROWS, kept)] == [
            ("login_succeeded", "192.0.2.11", "UA/1")
        ]
        with pytest.raises(asyncpg.PostgresError, match="append-only"):
            await conn.execute("UPDATE audit_trail SET ip = NULL WHERE subject_user = $1", kept)
