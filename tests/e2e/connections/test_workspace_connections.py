"""A workspace's connection: started by its Owner or an Admin, seen by its members, ended by
an Admin, invisible to anyone else."""

from __future__ import annotations

import pytest

from projections import audit_trail
from services.projector import catch_up
from tests.e2e.connections.harness import Downstream, Upstream
from tests.personal import reader

pytestmark = pytest.mark.asyncio

SCOPES = "connections workspaces"


async def test_a_workspace_connection_is_an_admins_to_make_and_its_members_to_see(
    down: Downstream, upstream: Upstream
) -> None:
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

    # The workspace's own provider: its Owner registers it, a Member may not.
    client_id, secret = await upstream.connector_client()
    body = {
        "name": "agency-upstream", "issuer": upstream.base, "client_id": client_id,
        "client_secret": secret, "scopes": ["openid", "read"], "refresh_margin_s": 30,
    }  # fmt: skip
    url = f"/workspaces/{workspace}/providers"
    refused = await down.http.post(url, json=body, headers=member.headers)
    assert (refused.status_code, refused.json()["error"]) == (403, "access_denied")
    registered = await down.http.post(url, json=body, headers=owner.headers)
    assert registered.status_code == 201, registered.text
    assert registered.json()["has_client_secret"] is True and secret not in registered.text
    seen = await down.http.get(url, headers=member.headers)
    assert [p["name"] for p in seen.json()["providers"]] == ["agency-upstream"]
    provider = "agency-upstream"
    elsewhere = await down.http.post("/connections", json={"provider": provider},
                                     headers=outsider.headers)  # fmt: skip
    assert elsewhere.status_code == 404  # another workspace's provider is not the outsider's

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
    await catch_up(
        down.pool, audit_trail.PROJECTION, personal=reader(down.pool)
    )  # the workspace's trail has its story
    async with down.pool.acquire() as conn:
        rows = await conn.fetch(
            "SELECT action, workspace_id, subject_user FROM audit_trail WHERE resource = $1"
            " ORDER BY seq", f"connection:{connection_id}",
        )  # fmt: skip
    assert [r["action"] for r in rows] == [
        "connection_started", "connection_established", "connection_revoked",
    ]  # fmt: skip
    assert {(r["workspace_id"], r["subject_user"]) for r in rows} == {(workspace, owner.user_id)}
