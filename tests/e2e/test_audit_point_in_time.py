"""Point-in-time holdings against a known history, and every audit read audited in turn.

The history is made through the real services and HTTP endpoints: a consent, two token
families, one access token revoked at /oauth/revoke, the consent withdrawn and given again,
a new family, then the client suspended through /manage. The instants between the steps
are the questions.
"""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime
from typing import Any

import asyncpg
import pytest

from domain import consent as consent_domain
from projections import audit_trail
from schemas.envelope import Metadata
from services import tokens
from services.authority import Authority
from services.commands import execute
from services.consents import consent_stream
from services.projector import catch_up
from services.users import create_user
from tests.e2e.test_audit_api import auditor, bearer
from tests.personal import reader

pytestmark = pytest.mark.asyncio

SCOPES = ("openid", "read")


async def instant() -> datetime:
    """Now, strictly between the step before and the step after."""
    await asyncio.sleep(0.01)
    now = datetime.now(UTC)
    await asyncio.sleep(0.01)
    return now


async def grant_consent(authority: Authority, user_id: str, client_id: str) -> None:
    command = consent_domain.GrantConsent(user_id=user_id, client_id=client_id, scopes=SCOPES)
    metadata = Metadata(actor="user", actor_id=user_id, subject_user=user_id, client_id=client_id)
    await execute(
        authority.store, consent_domain.decider, consent_stream(user_id, client_id), command,
        metadata,
    )  # fmt: skip


async def issue(authority: Authority, client_id: str, user_id: str) -> tokens.TokenResponse:
    record = await authority.clients.get(client_id)
    assert record is not None
    grant = tokens.Grant(
        client=record, grant_type="authorization_code", scopes=SCOPES, subject=user_id,
        with_refresh=True,
    )  # fmt: skip
    metadata = Metadata(actor="client", actor_id=client_id, client_id=client_id)
    return await tokens.issue(authority, grant, metadata)


def held(answer: Any) -> list[tuple[str, str | None]]:
    assert answer.status_code == 200, answer.text
    return sorted((token["kind"], token["jti"]) for token in answer.json()["tokens"])


async def test_point_in_time_answers_follow_the_history_not_the_current_state(
    api: Any, make_client: Any, authority: Authority, pool: asyncpg.Pool
) -> None:
    workspace = f"w-{uuid.uuid4().hex[:8]}"
    app = await make_client(
        grant_types=("authorization_code", "refresh_token"), scopes=SCOPES,
        redirect_uris=("https://app.example/cb",), workspace_id=workspace,
    )  # fmt: skip
    admin = await bearer(api, await make_client(scopes=("keyledger:admin",)), "keyledger:admin")
    username = f"ada-{uuid.uuid4().hex[:8]}"
    user = await create_user(authority.store, username, "correct horse", Metadata(actor="admin"))
    before = await instant()

    await grant_consent(authority, user, app.client_id)
    first, second = (
        await issue(authority, app.client_id, user),
        await issue(authority, app.client_id, user),
    )
    issued = await instant()
    revoked = await api.post("/oauth/revoke", data={"token": second.access_token}, auth=app.basic)
    assert revoked.status_code == 200
    one_revoked = await instant()
    withdrawn = await api.delete(
        f"/manage/users/{username}/consents/{app.client_id}", headers=admin
    )
    assert withdrawn.status_code == 204, withdrawn.text
    after_withdrawal = await instant()
    await grant_consent(authority, user, app.client_id)
    third = await issue(authority, app.client_id, user)
    regranted = await instant()
    suspended = await api.post(f"/manage/clients/{app.client_id}/suspend", headers=admin)
    assert suspended.status_code == 200, suspended.text
    after_suspension = await instant()
    await catch_up(pool, audit_trail.PROJECTION, personal=reader(pool))

    _, headers = await auditor(api, make_client, workspace)
    jtis = {}
    async with pool.acquire() as conn:
        for name, response in (("first", first), ("second", second), ("third", third)):
            jtis[name] = await conn.fetchval(
                "SELECT jti FROM token_state WHERE token_digest = encode(sha256($1), 'hex')",
                response.access_token.encode(),
            )

    async def ask(at: datetime, **subject: str) -> Any:
        params = {"at": at.isoformat(), **subject}
        return await api.get("/audit/point-in-time", params=params, headers=headers)

    assert held(await ask(before, user=user)) == []
    at_issue = await ask(issued, user=user)
    assert held(at_issue) == sorted(
        [
            ("access", jtis["first"]),
            ("access", jtis["second"]),
            ("refresh", None),
            ("refresh", None),
        ]
    )
    assert at_issue.json()["scopes"] == sorted(SCOPES)
    assert [c["client_id"] for c in at_issue.json()["consents"]] == [app.client_id]
    assert held(await ask(one_revoked, user=user)) == sorted(
        [("access", jtis["first"]), ("refresh", None), ("refresh", None)]
    )
    gone = await ask(after_withdrawal, user=user)
    assert held(gone) == [] and gone.json()["consents"] == []
    again = [("access", jtis["third"]), ("refresh", None)]
    assert held(await ask(regranted, user=user)) == again
    assert held(await ask(regranted, client=app.client_id)) == again
    last = await ask(after_suspension, client=app.client_id)
    assert held(last) == []
    assert last.json()["clients"] == [
        {"client_id": app.client_id, "status": "suspended", "workspace_id": workspace}
    ]

    # Another workspace's auditor learns nothing about this client or its user.
    _, elsewhere = await auditor(api, make_client, f"v-{uuid.uuid4().hex[:8]}")
    hidden = await api.get(
        "/audit/point-in-time", params={"at": regranted.isoformat(), "user": user},
        headers=elsewhere,
    )  # fmt: skip
    assert hidden.json()["tokens"] == [] and hidden.json()["consents"] == []


async def test_every_audit_read_is_recorded_with_its_caller_and_the_user_looked_at(
    api: Any, make_client: Any, pool: asyncpg.Pool
) -> None:
    caller, headers = await auditor(api, make_client, None)
    user = f"user-{uuid.uuid4().hex[:8]}"
    now = datetime.now(UTC).isoformat()
    for path, params in [
        ("/audit/events", {"user": user, "limit": "5"}),
        (f"/audit/users/{user}/timeline", {"outcome": "failure"}),
        ("/audit/export", {"user": user, "format": "csv"}),
        ("/audit/point-in-time", {"user": user, "at": now}),
    ]:
        answer = await api.get(path, params=params, headers=headers)
        assert answer.status_code == 200, answer.text
    await catch_up(pool, audit_trail.PROJECTION, personal=reader(pool))

    timeline = await api.get(f"/audit/users/{user}/timeline", headers=headers)
    rows = timeline.json()["events"]
    assert [row["resource"] for row in rows] == [
        "audit:point_in_time", "audit:export", "audit:timeline", "audit:events",
    ]  # fmt: skip
    for row in rows:
        assert row["action"] == "audit_trail_read" and row["outcome"] == "success"
        assert row["actor"] == "client" and row["actor_id"] == caller.client_id
        assert row["subject_user"] == user and row["stream_id"].startswith("audit-")
    async with pool.acquire() as conn:
        stored = await conn.fetchval(
            "SELECT convert_from(data, 'UTF8')::jsonb FROM events WHERE event_id = $1",
            uuid.UUID(rows[2]["event_id"]),
        )
    assert '"outcome": "failure"' in stored and f'"user": "{user}"' in stored
