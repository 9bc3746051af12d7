"""The audit API through the real app: who may read, workspace walls, paging, export, auditing.

The audit trail is an async projection: tests run the projector's `catch_up` where the
worker would, so what the API answers is exactly what the projection holds.
"""

from __future__ import annotations

import csv
import io
import json
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import pytest

from infra.postgres.event_store import NEW_STREAM, EventStore, StreamAppend
from projections import audit_trail
from schemas.envelope import Metadata, NewEvent
from schemas.events import AccessTokenIssued, Jti
from services.projector import catch_up
from tests.personal import reader

pytestmark = pytest.mark.asyncio


async def bearer(api: Any, client: Any, scope: str) -> dict[str, str]:
    issued = await api.post(
        "/oauth/token", data={"grant_type": "client_credentials", "scope": scope}, auth=client.basic
    )
    assert issued.status_code == 200, issued.text
    return {"authorization": f"Bearer {issued.json()['access_token']}"}


async def auditor(api: Any, make_client: Any, workspace: str | None) -> tuple[Any, dict[str, str]]:
    client = await make_client(scopes=("audit:read",), workspace_id=workspace)
    return client, await bearer(api, client, "audit:read")


def issued_in(workspace: str, client: str, user: str | None = None) -> NewEvent:
    """A token issuance as the token endpoint records it, in `workspace`."""
    now = datetime.now(UTC)
    return NewEvent(
        event=AccessTokenIssued(
            jti=Jti(uuid.uuid4().hex),
            client_id=client,
            grant_type="client_credentials",
            scopes=("read",),
            expires_at=now + timedelta(hours=1),
            subject=user,
            workspace_id=workspace,
        ),
        event_id=uuid.uuid4(),
        occurred_at=now,
        metadata=Metadata(
            actor="client", actor_id=client, client_id=client, workspace_id=workspace,
            subject_user=user, ip="198.51.100.7",
        ),
    )  # fmt: skip


async def append_issued(store: EventStore, count: int, workspace: str, client: str) -> None:
    appends = [
        StreamAppend(f"token_family-{uuid.uuid4().hex}", NEW_STREAM, [issued_in(workspace, client)])
        for _ in range(count)
    ]
    await store.append_all(appends)


def refused(response: Any, status: int, error: str) -> None:
    assert response.status_code == status, response.text
    assert response.json()["error"] == error
    assert response.headers["cache-control"] == "no-store"


async def test_only_live_tokens_with_audit_read_may_read_and_bad_queries_are_400(
    api: Any, make_client: Any
) -> None:
    paths = ["/audit/events", "/audit/users/u1/timeline", "/audit/export", "/audit/point-in-time"]
    plain = await make_client(scopes=("read",))
    no_scope = await bearer(api, plain, "read")
    for path in paths:
        refused(await api.get(path), 401, "invalid_token")
        assert (await api.get(path)).headers["www-authenticate"].startswith("Bearer")
        refused(await api.get(path, headers={"authorization": "Bearer nope"}), 401, "invalid_token")
        refused(await api.get(path, headers=no_scope), 403, "insufficient_scope")

    _, headers = await auditor(api, make_client, None)
    for path, params in [
        ("/audit/events", {"limit": "0"}),
        ("/audit/events", {"limit": "1001"}),
        ("/audit/events", {"usr": "typo"}),
        ("/audit/events", {"cursor": "not-a-cursor"}),
        ("/audit/events", {"from": "2026-01-01T00:00:00"}),  # no offset: ambiguous
        ("/audit/events", {"from": "yesterday"}),
        ("/audit/events", {"action": "no_such_action"}),
        ("/audit/events", {"user": "a\x00b"}),
        ("/audit/events", {"user": "kla_" + "x" * 43}),  # a pasted token is never recorded
        ("/audit/events", {"from": "2026-02-01T00:00:00Z", "to": "2026-01-01T00:00:00Z"}),
        ("/audit/export", {"format": "xml"}),
        ("/audit/point-in-time", {"user": "u1"}),
        ("/audit/point-in-time", {"user": "u1", "client": "c1", "at": "2026-01-01T00:00:00Z"}),
    ]:
        refused(await api.get(path, params=params, headers=headers), 400, "invalid_request")
    repeated = await api.get("/audit/events?user=a&user=b", headers=headers)
    refused(repeated, 400, "invalid_request")
    for path, params in [
        ("/audit/point-in-time", {"user": "u1", "at": "0001-01-01T00:00:00Z"}),
        ("/audit/point-in-time", {"client": "c1", "at": "0001-01-01T00:00:00+05:00"}),
        ("/audit/events", {"from": "0001-01-01T00:00:00+05:00", "to": "9999-12-31T23:59:59-05:00"}),
        ("/audit/export", {"from": "9999-12-31T23:59:59Z", "format": "csv"}),
    ]:
        odd = await api.get(path, params=params, headers=headers)
        assert odd.status_code in (200, 400), odd.text  # never a 500


async def test_a_workspace_caller_sees_only_its_workspace_whatever_it_filters(
    api: Any, make_client: Any, store: EventStore, pool: asyncpg.Pool
) -> None:
    ours, theirs = f"w-{uuid.uuid4().hex[:8]}", f"v-{uuid.uuid4().hex[:8]}"
    await append_issued(store, 3, ours, "our-client")
    await append_issued(store, 4, theirs, "their-client")
    _, headers = await auditor(api, make_client, ours)
    _, platform = await auditor(api, make_client, None)
    await catch_up(pool, audit_trail.PROJECTION, personal=reader(pool))

    everything = await api.get("/audit/events", params={"limit": 1000}, headers=headers)
    assert everything.status_code == 200, everything.text
    assert {row["workspace_id"] for row in everything.json()["events"]} == {ours}
    assert sum(row["client_id"] == "our-client" for row in everything.json()["events"]) == 3
    for params in ({"client": "their-client"}, {"ip": "198.51.100.7", "client": "their-client"}):
        assert (await api.get("/audit/events", params=params, headers=headers)).json()[
            "events"
        ] == []
    refused(await api.get("/audit/events", params={"workspace": theirs}, headers=headers), 403,
            "insufficient_scope")  # fmt: skip
    exported = await api.get("/audit/export", params={"client": "their-client"}, headers=headers)
    assert exported.status_code == 200 and exported.text == ""

    theirs_seen = await api.get("/audit/events", params={"workspace": theirs}, headers=platform)
    assert [row["client_id"] for row in theirs_seen.json()["events"]] == ["their-client"] * 4


async def _late_commit(store: EventStore, first: Any, late: Any, workspace: str) -> None:
    """Two appends whose log order differs from their position order: `late` holds the
    lower position and is left uncommitted, so the projector records it after `first`."""
    await first.execute("SELECT pg_current_xact_id()")  # the older transaction id
    await store.append_all(
        [StreamAppend(f"token_family-{uuid.uuid4().hex}", NEW_STREAM,
                      [issued_in(workspace, "late-client")])], conn=late,
    )  # fmt: skip
    await store.append_all(
        [StreamAppend(f"token_family-{uuid.uuid4().hex}", NEW_STREAM,
                      [issued_in(workspace, "first-client")])], conn=first,
    )  # fmt: skip


async def _workspace_rows(pool: asyncpg.Pool, workspace: str) -> set[str]:
    async with pool.acquire() as conn:
        rows = await conn.fetch(
            "SELECT event_id FROM audit_trail WHERE workspace_id = $1", workspace
        )
    return {str(row["event_id"]) for row in rows}


async def _page_through(
    api: Any,
    headers: dict[str, str],
    *,
    workspace: str,
    store: EventStore,
    pool: asyncpg.Pool,
    late_tx: Any,
) -> list[list[dict[str, Any]]]:
    """Every page, newest first; rows land between the requests, the late one first."""
    pages: list[list[dict[str, Any]]] = []
    params: dict[str, Any] = {"limit": 6}
    while True:
        answer = await api.get("/audit/events", params=params, headers=headers)
        assert answer.status_code == 200, answer.text
        pages.append(answer.json()["events"])
        if len(pages) == 1:
            # It commits now, with a lower position than rows the first page showed.
            await late_tx.commit()
        await append_issued(store, 2, workspace, "busy-client")
        await catch_up(pool, audit_trail.PROJECTION, personal=reader(pool))
        cursor = answer.json()["next_cursor"]
        if cursor is None:
            return pages
        params = {"limit": 6, "cursor": cursor}


async def test_pages_are_disjoint_and_complete_while_rows_land_between_requests(
    api: Any, make_client: Any, store: EventStore, pool: asyncpg.Pool
) -> None:
    workspace = f"w-{uuid.uuid4().hex[:8]}"
    _, headers = await auditor(api, make_client, workspace)
    await append_issued(store, 20, workspace, "steady-client")
    async with pool.acquire() as first, pool.acquire() as late:
        first_tx, late_tx = first.transaction(), late.transaction()
        await first_tx.start()
        await late_tx.start()
        # Released connections roll back whatever a failed assertion left open.
        await _late_commit(store, first, late, workspace)
        await first_tx.commit()
        await catch_up(
            pool, audit_trail.PROJECTION, personal=reader(pool)
        )  # stops below the open transaction
        # The steady rows, the first one, the auditor's registration and token; not the late.
        present = await _workspace_rows(pool, workspace)
        assert len(present) == 20 + 1 + 2
        pages = await _page_through(
            api, headers, workspace=workspace, store=store, pool=pool, late_tx=late_tx
        )

    seen = [row["event_id"] for page in pages for row in page]
    assert len(seen) == len(set(seen))  # disjoint
    assert set(seen) == present  # complete: exactly the rows there when paging began
    assert all(len(page) == 6 for page in pages[:-1])

    newest = (await api.get("/audit/events", params={"limit": 1000}, headers=headers)).json()
    by_client = [row["client_id"] for row in newest["events"]]
    positions = {row["client_id"]: row["position"] for row in newest["events"]}
    assert positions["late-client"] < positions["first-client"]
    # Recorded after the first page, the late row comes before every row shown then.
    assert by_client.index("late-client") < by_client.index("first-client")
    # Meanwhile: the late row, and per page two issuances and the read of the page itself.
    assert len(newest["events"]) == len(present) + 1 + 3 * len(pages)


async def test_export_streams_every_matching_row_as_ndjson_and_csv(
    api: Any, make_client: Any, store: EventStore, pool: asyncpg.Pool
) -> None:
    workspace = f"w-{uuid.uuid4().hex[:8]}"
    client, headers = await auditor(api, make_client, workspace)
    await append_issued(store, 1234, workspace, "exported-client")
    await catch_up(pool, audit_trail.PROJECTION, personal=reader(pool))
    async with pool.acquire() as conn:
        expected = [
            str(row["event_id"])
            for row in await conn.fetch(
                "SELECT event_id FROM audit_trail WHERE workspace_id = $1 AND client_id = $2"
                " ORDER BY seq",
                workspace,
                "exported-client",
            )
        ]
    assert len(expected) == 1234
    params = {"client": "exported-client"}

    ndjson = await api.get("/audit/export", params=params, headers=headers)
    assert ndjson.status_code == 200
    assert ndjson.headers["content-type"] == "application/x-ndjson"
    assert ndjson.headers["content-disposition"].startswith('attachment; filename="keyledger-')
    rows = [json.loads(line) for line in ndjson.text.splitlines()]
    assert [row["event_id"] for row in rows] == expected
    assert {row["action"] for row in rows} == {"access_token_issued"}
    assert rows[0]["ip"] == "198.51.100.7" and len(rows[0]["hash"]) == 64

    as_csv = await api.get("/audit/export", params={**params, "format": "csv"}, headers=headers)
    assert as_csv.headers["content-type"].startswith("text/csv")
    assert as_csv.headers["content-disposition"].endswith('.csv"')
    parsed = list(csv.DictReader(io.StringIO(as_csv.text)))
    assert [row["event_id"] for row in parsed] == expected
    assert parsed[0] == {key: "" if value is None else str(value) for key, value in {
        **rows[0], "occurred_at": parsed[0]["occurred_at"]
    }.items()}  # fmt: skip
    assert datetime.fromisoformat(parsed[0]["occurred_at"]) == datetime.fromisoformat(
        rows[0]["occurred_at"]
    )

    await catch_up(pool, audit_trail.PROJECTION, personal=reader(pool))
    async with pool.acquire() as conn:
        reads = await conn.fetch(
            "SELECT resource FROM audit_trail WHERE action = 'audit_trail_read' AND actor_id = $1",
            client.client_id,
        )
    assert [row["resource"] for row in reads] == ["audit:export", "audit:export"]
