"""The consents read model: granted, widened, withdrawn, granted again; rebuilt, the same."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import asyncpg

from domain import consent as consent_domain
from infra.postgres.event_store import NEW_STREAM, EventStore
from projections import INLINE_BULK, consents, inline_statements
from schemas.envelope import Metadata, NewEvent
from schemas.events import ClientRegistered
from services.commands import execute
from services.consents import consent_stream
from services.projector import catch_up, rebuild
from tests.personal import reader

USER = Metadata(actor="user")


async def _rows(pool: asyncpg.Pool, users: list[str]) -> list[asyncpg.Record]:
    async with pool.acquire() as conn:
        return await conn.fetch(
            "SELECT * FROM consents WHERE user_id = ANY($1::text[]) ORDER BY user_id, client_id",
            users,
        )


async def test_consents_follow_grants_and_withdrawals_and_a_rebuild_gives_the_same_rows(
    pool: asyncpg.Pool,
) -> None:
    store = EventStore(pool, inline=inline_statements, bulk=INLINE_BULK)
    in_workspace, alone = uuid.uuid4().hex, uuid.uuid4().hex
    for client_id, workspace in ((in_workspace, "ws-clients"), (alone, None)):
        registered = ClientRegistered(
            client_id=client_id, name=client_id, confidential=False, workspace_id=workspace
        )
        new = NewEvent(event=registered, event_id=uuid.uuid4(), occurred_at=datetime.now(UTC))
        await store.append(f"client-{client_id}", NEW_STREAM, [new])
    ann, bob = f"ann-{uuid.uuid4().hex[:8]}", f"bob-{uuid.uuid4().hex[:8]}"

    async def grant(user: str, client: str, *scopes: str, workspace: str | None = None) -> None:
        command = consent_domain.GrantConsent(user_id=user, client_id=client, scopes=scopes)
        meta = Metadata(actor="user", actor_id=user, workspace_id=workspace)
        await execute(store, consent_domain.decider, consent_stream(user, client), command, meta)

    async def withdraw(user: str, client: str) -> None:
        command = consent_domain.WithdrawConsent(user_id=user, client_id=client)
        await execute(store, consent_domain.decider, consent_stream(user, client), command, USER)

    await grant(ann, in_workspace, "openid", "read")
    await catch_up(pool, consents.PROJECTION, personal=reader(pool))
    (first,) = await _rows(pool, [ann])
    await grant(ann, in_workspace, "write")  # wider: same consent, since the first grant
    await grant(ann, alone, "read")
    await withdraw(ann, alone)
    await grant(bob, alone, "read", workspace="ws-metadata")
    await withdraw(bob, alone)
    await grant(bob, alone, "openid")  # after a withdrawal: a new consent, current again
    await catch_up(pool, consents.PROJECTION, personal=reader(pool))
    live = await _rows(pool, [ann, bob])

    summary = [
        (r["user_id"], r["client_id"], r["workspace_id"], r["scopes"], r["status"]) for r in live
    ]
    assert sorted(summary) == sorted(
        [
            (ann, in_workspace, "ws-clients", ["openid", "read", "write"], "granted"),
            (ann, alone, None, ["read"], "withdrawn"),
            (bob, alone, None, ["openid"], "granted"),
        ]
    )
    by_pair = {(r["user_id"], r["client_id"]): r for r in live}
    widened = by_pair[ann, in_workspace]
    assert widened["granted_at"] == first["granted_at"] < widened["updated_at"]
    assert by_pair[ann, alone]["withdrawn_at"] is not None
    again = by_pair[bob, alone]
    assert again["withdrawn_at"] is None and again["granted_at"] > datetime(2000, 1, 1, tzinfo=UTC)
    async with pool.acquire() as conn:
        listed = await consents.granted(conn, ann)
    assert [(c.client_id, c.scopes) for c in listed] == [
        (in_workspace, ("openid", "read", "write"))
    ]

    await rebuild(pool, consents.PROJECTION, personal=reader(pool))

    assert await _rows(pool, [ann, bob]) == live
