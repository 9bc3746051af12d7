"""Workspaces over HTTP against a running server: roles, API keys shown once, refusals, and
separation between workspaces."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import asyncpg
import httpx
import pytest

from infra.config import Settings
from schemas.envelope import Metadata
from services.authority import Authority
from services.commands import utcnow
from services.users import create_user
from services.workspaces import create_api_key
from tests.e2e.conftest import server_log_path, wait_for

PASSWORD = "workspace pass 1"


class People:
    """Users with `workspaces` tokens from the password grant, and their HTTP headers."""

    def __init__(self, base: str, client: Any, authority: Authority) -> None:
        self.base, self.client, self.authority = base, client, authority
        self.ids: dict[str, str] = {}
        self.headers: dict[str, dict[str, str]] = {}

    async def add(self, web: httpx.AsyncClient, name: str) -> str:
        username = f"{name}-{uuid.uuid4().hex[:8]}"
        self.ids[name] = await create_user(
            self.authority.store, username, PASSWORD, Metadata(actor="admin")
        )
        issued = await web.post(
            f"{self.base}/oauth/token",
            data={"grant_type": "password", "username": username, "password": PASSWORD,
                  "scope": "workspaces"},
            auth=self.client.basic,
        )  # fmt: skip
        assert issued.status_code == 200, issued.text
        self.headers[name] = {"Authorization": f"Bearer {issued.json()['access_token']}"}
        return self.ids[name]


@pytest.fixture
async def web() -> Any:
    async with httpx.AsyncClient(timeout=10) as client:
        yield client


@pytest.fixture
async def people(live_server: str, make_client: Any, authority: Authority) -> People:
    client = await make_client(grant_types=("password",), scopes=("workspaces",))
    return People(live_server, client, authority)


async def _workspace(web: httpx.AsyncClient, people: People, owner: str, **policy: Any) -> str:
    created = await web.post(
        f"{people.base}/workspaces", json={"name": f"{owner}'s org", **policy},
        headers=people.headers[owner],
    )  # fmt: skip
    assert created.status_code == 201, created.text
    workspace_id: str = created.json()["workspace_id"]
    return workspace_id


async def _join(
    web: httpx.AsyncClient, people: People, workspace: str, *, by: str, name: str, role: str
) -> None:
    url = f"{people.base}/workspaces/{workspace}"
    invited = await web.post(
        f"{url}/invitations", json={"user_id": people.ids[name], "role": role},
        headers=people.headers[by],
    )  # fmt: skip
    assert invited.status_code == 201, invited.text
    accepted = await web.post(f"{url}/invitations/accept", headers=people.headers[name])
    assert accepted.status_code == 204, accepted.text


def _refusal(response: httpx.Response) -> tuple[int, str]:
    return response.status_code, response.json()["error"]


async def test_each_role_may_do_what_it_should_and_nothing_more(
    web: httpx.AsyncClient, people: People
) -> None:
    for name in ("owner", "admin", "member", "outsider"):
        await people.add(web, name)
    workspace = await _workspace(web, people, "owner")
    await _join(web, people, workspace, by="owner", name="admin", role="admin")
    await _join(web, people, workspace, by="admin", name="member", role="member")
    url = f"{people.base}/workspaces/{workspace}"
    key = {"name": "BI Dashboard", "scopes": ["analytics.read"]}

    # A Member sees the workspace but cannot create keys, invite, or change roles.
    listed = await web.get(f"{url}/members", headers=people.headers["member"])
    assert {m["role"] for m in listed.json()} == {"owner", "admin", "member"}
    refused = await web.post(f"{url}/api-keys", json=key, headers=people.headers["member"])
    assert _refusal(refused) == (403, "access_denied")
    assert "admin role" in refused.json()["error_description"]
    promote = await web.put(
        f"{url}/members/{people.ids['member']}", json={"role": "admin"},
        headers=people.headers["member"],
    )  # fmt: skip
    assert _refusal(promote) == (403, "access_denied")

    # An Admin creates keys and manages members, but cannot remove or demote the Owner,
    # nor make anyone Owner, nor cut an application off.
    owner_path = f"{url}/members/{people.ids['owner']}"
    removed = await web.delete(owner_path, headers=people.headers["admin"])
    assert _refusal(removed) == (403, "access_denied")
    demoted = await web.put(owner_path, json={"role": "member"}, headers=people.headers["admin"])
    assert _refusal(demoted) == (403, "access_denied")
    crowned = await web.put(
        f"{url}/members/{people.ids['member']}", json={"role": "owner"},
        headers=people.headers["admin"],
    )  # fmt: skip
    assert _refusal(crowned) == (403, "access_denied")
    cut = await web.post(
        f"{url}/applications/{people.client.client_id}/cut-off", headers=people.headers["admin"]
    )
    assert _refusal(cut) == (403, "access_denied")
    created = await web.post(f"{url}/api-keys", json=key, headers=people.headers["admin"])
    assert created.status_code == 201, created.text

    # Someone outside learns nothing and changes nothing.
    for method, path in (("GET", "/members"), ("GET", "/api-keys")):
        outside = await web.request(method, f"{url}{path}", headers=people.headers["outsider"])
        assert _refusal(outside) == (403, "access_denied")
    joined = await web.post(f"{url}/invitations/accept", headers=people.headers["outsider"])
    assert _refusal(joined) == (404, "not_found")

    # The Owner hands ownership on and stays as an Admin; the Admin then removes a member.
    handed = await web.put(
        f"{url}/members/{people.ids['admin']}", json={"role": "owner"},
        headers=people.headers["owner"],
    )  # fmt: skip
    assert handed.status_code == 204, handed.text
    gone = await web.delete(
        f"{url}/members/{people.ids['member']}", headers=people.headers["owner"]
    )
    assert gone.status_code == 204, gone.text
    roles = {m["user_id"]: m["role"] for m in (await web.get(
        f"{url}/members", headers=people.headers["owner"])).json()}  # fmt: skip
    assert roles == {people.ids["admin"]: "owner", people.ids["owner"]: "admin"}


async def test_a_key_is_shown_once_and_stored_nowhere(
    web: httpx.AsyncClient, people: People, pool: asyncpg.Pool, settings: Settings
) -> None:
    await people.add(web, "owner")
    workspace = await _workspace(web, people, "owner")
    url = f"{people.base}/workspaces/{workspace}"
    responses: list[httpx.Response] = []

    created = await web.post(
        f"{url}/api-keys", json={"name": "BI Dashboard", "scopes": ["analytics.read"]},
        headers=people.headers["owner"],
    )  # fmt: skip
    responses.append(created)
    assert created.status_code == 201, created.text
    assert created.headers["cache-control"] == "no-store"
    key, key_id = created.json()["key"], created.json()["key_id"]
    assert key.startswith("klk_") and len(key) >= 40
    as_key = {"Authorization": f"Bearer {key}", "X-Workspace-Id": workspace}
    for _ in range(3):
        current = await web.get(f"{people.base}/api-keys/current", headers=as_key)
        responses.append(current)
        assert current.status_code == 200, current.text
        assert current.json()["key_id"] == key_id
        assert current.json()["scopes"] == ["analytics.read"]
    listed = await web.get(f"{url}/api-keys", headers=people.headers["owner"])
    responses.append(listed)
    assert [k["key_id"] for k in listed.json()] == [key_id]
    assert [k["status"] for k in listed.json()] == ["active"]
    expiring = await web.get(
        f"{url}/api-keys", params={"expiring_within_days": 91}, headers=people.headers["owner"]
    )
    responses.append(expiring)
    assert [k["key_id"] for k in expiring.json()] == [key_id]  # 90 days by default

    # Exactly one response carried the key; no event, projection row or log line does.
    assert [r for r in responses if key in r.text] == [created]
    async with pool.acquire() as conn:
        in_events = await conn.fetchval(
            "SELECT count(*) FROM events WHERE position($1::bytea IN data) > 0"
            " OR strpos(metadata::text, $2) > 0",
            key.encode(), key,
        )  # fmt: skip
        in_keys = await conn.fetchval(
            "SELECT count(*) FROM api_keys WHERE strpos(row_to_json(api_keys)::text, $1) > 0",
            key,
        )
        stored = await conn.fetchval("SELECT key_digest FROM api_keys WHERE key_id = $1", key_id)
    assert (in_events, in_keys) == (0, 0)
    assert key not in stored and len(stored) == 64
    logged = server_log_path(settings).read_text(encoding="utf-8", errors="replace")
    assert key_id in logged or "request" in logged  # the log is the server's, as it runs
    assert key not in logged and key[4:] not in logged


async def test_expired_revoked_rotated_out_and_foreign_keys_are_refused(
    web: httpx.AsyncClient, people: People, authority: Authority, pool: asyncpg.Pool
) -> None:
    await people.add(web, "owner")
    await people.add(web, "other")
    workspace = await _workspace(web, people, "owner")
    other = await _workspace(web, people, "other")
    url = f"{people.base}/workspaces/{workspace}"
    current = f"{people.base}/api-keys/current"

    def as_key(key: str, workspace_id: str = workspace) -> dict[str, str]:
        return {"Authorization": f"Bearer {key}", "X-Workspace-Id": workspace_id}

    async def refused(key: str, workspace_id: str = workspace) -> str:
        answer = await web.get(current, headers=as_key(key, workspace_id))
        assert _refusal(answer) == (401, "invalid_token"), answer.text
        assert answer.headers["www-authenticate"].startswith("Bearer")
        description: str = answer.json()["error_description"]
        return description

    async def new_key() -> dict[str, Any]:
        made = await web.post(
            f"{url}/api-keys", json={"name": "sync", "scopes": ["posts.write"]},
            headers=people.headers["owner"],
        )  # fmt: skip
        assert made.status_code == 201, made.text
        body: dict[str, Any] = made.json()
        return body

    # Another workspace's id, or none: refused, though the key is good for its own.
    key = (await new_key())["key"]
    assert "does not belong to this workspace" in await refused(key, other)
    missing = await web.get(current, headers={"Authorization": f"Bearer {key}"})
    assert _refusal(missing) == (400, "invalid_request")
    assert "not valid" in await refused(key[:-2] + "xx")
    # The other workspace's Owner cannot see or revoke this workspace's keys.
    foreign = await web.get(f"{url}/api-keys", headers=people.headers["other"])
    assert _refusal(foreign) == (403, "access_denied")

    # Expired: created, as it were, 91 days ago with the 90-day default.
    old = await create_api_key(
        authority, workspace, people.ids["owner"], name="old", scopes=["media.read"], days=None,
        metadata=Metadata(actor="user"), now=utcnow() - timedelta(days=91),
    )  # fmt: skip
    assert "expired" in await refused(old.key)

    # Revoked: at once, and published for resource servers.
    made = await new_key()
    revoked = await web.delete(f"{url}/api-keys/{made['key_id']}", headers=people.headers["owner"])
    assert revoked.status_code == 204, revoked.text
    assert "revoked" in await refused(made["key"])

    # Rotated: the old key works through the overlap, not after it.
    made = await new_key()
    rotate = f"{url}/api-keys/{made['key_id']}/rotate"
    kept = await web.post(rotate, json={"overlap_seconds": 3600}, headers=people.headers["owner"])
    assert kept.status_code == 200, kept.text
    for usable in (made["key"], kept.json()["key"]):
        assert (await web.get(current, headers=as_key(usable))).status_code == 200
    cut = await web.post(rotate, json={"overlap_seconds": 0}, headers=people.headers["owner"])
    assert cut.status_code == 200, cut.text
    assert "rotated out" in await refused(kept.json()["key"])
    assert (await web.get(current, headers=as_key(cut.json()["key"]))).status_code == 200

    # Scopes outside the catalogue, and lifetimes beyond the policy, are refused at creation.
    for body in ({"name": "x", "scopes": ["root"]},
                 {"name": "x", "scopes": ["posts.read"], "expires_in_days": 0},
                 {"name": "x", "scopes": ["posts.read"], "expires_in_days": 400}):  # fmt: skip
        bad = await web.post(f"{url}/api-keys", json=body, headers=people.headers["owner"])
        assert _refusal(bad) == (400, "invalid_request"), body

    async def published() -> bool:
        async with pool.acquire() as conn:
            return bool(
                await conn.fetchval(
                    "SELECT count(*) FROM events WHERE event_type = 'api_key_revoked'"
                    " AND stream_id = $1",
                    f"workspace-{workspace}",
                )
            )

    await wait_for(published)
