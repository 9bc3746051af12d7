"""A workspace's connection: started by its Owner or an Admin, seen by its members, ended by
an Admin, invisible to anyone else."""

from __future__ import annotations

import pytest

from projections import audit_trail
from services.projector import catch_up
from tests.e2e.connections.harness import Downstream, Upstream

pytestmark = pytest.mark.asyncio

SCOPES = "connections workspaces"


async def test_a_workspace_connection_is_an_admins_to_make_and_its_members_to_see(
    down: Downstream, upstream: Upstream
) -> None:
    provider = await down.register_provider(upstream, await upstream.connector_client())
    owner, member, outsider = [await down.user(SCOPES) for _ in range(3)]
    created = await down.http.post("/workspaces", json={"name": "agency"}, headers=owner.headers)
    assert created.status_code == 201, created.text
    workspace = created.json()["workspace_id"]
    invited = await down.http.post(
        f"/workspaces/{workspace}/invitations", json={"user_id": member.user_id},
        headers=owner.headers,
    )  # fmt: skip
    assert invited.status_code == 201, invited.text
    joined = await down.http.post(
        f"/workspaces/{workspace}/invitations/accept", headers=member.headers
    )
    assert joined.status_code == 204

    as_member = await down.http.post(
        "/connections", json={"provider": provider, "workspace_id": workspace},
        headers=member.headers,
    )  # fmt: skip
    assert (as_member.status_code, as_member.json()["error"]) == (403, "access_denied")
    connection_id = await down.connect(
        owner, provider, upstream, await upstream.user(), workspace_id=workspace
    )

    listed = await down.http.get(
        "/connections", params={"workspace_id": workspace}, headers=member.headers
    )
    assert [c["connection_id"] for c in listed.json()["connections"]] == [connection_id]
    assert (await down.status(member, connection_id))["workspace_id"] == workspace
    own = await down.http.get("/connections", headers=owner.headers)
    assert own.json()["connections"] == []  # the workspace's, not the owner's own
    for refused in (
        await down.http.get(f"/connections/{connection_id}", headers=outsider.headers),
        await down.http.get(
            "/connections", params={"workspace_id": workspace}, headers=outsider.headers
        ),
    ):
        assert refused.status_code in (403, 404), refused.text
    ended_by_member = await down.http.delete(
        f"/connections/{connection_id}", headers=member.headers
    )
    assert (ended_by_member.status_code, ended_by_member.json()["error"]) == (403, "access_denied")
    ended = await down.http.delete(f"/connections/{connection_id}", headers=owner.headers)
    assert ended.status_code == 204
    assert (await down.status(member, connection_id))["status"] == "revoked"
    await catch_up(down.pool, audit_trail.PROJECTION)  # the workspace's trail has its story
    async with down.pool.acquire() as conn:
        rows = await conn.fetch(
            "SELECT action, workspace_id, subject_user FROM audit_trail WHERE resource = $1"
            " ORDER BY seq", f"connection:{connection_id}",
        )  # fmt: skip
    assert [r["action"] for r in rows] == [
        "connection_started", "connection_established", "connection_revoked",
    ]  # fmt: skip
    assert {(r["workspace_id"], r["subject_user"]) for r in rows} == {(workspace, owner.user_id)}
