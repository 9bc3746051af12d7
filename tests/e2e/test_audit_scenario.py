"""One user's whole story through the real HTTP app, then their audit trail, row by row."""

from __future__ import annotations

import uuid
from typing import Any

import asyncpg
import httpx

from projections import audit_trail
from schemas.envelope import Metadata
from services.authority import Authority
from services.projector import catch_up
from services.users import create_user
from tests.e2e.authorize_flow import (
    REDIRECT,
    Browsers,
    authorize_url,
    exchange_code,
    hidden,
    login_form,
    login_page,
    redirected,
    refresh_token,
)
from tests.personal import reader

# (action, outcome, reason) of every row about the user, in log order.
EXPECTED = [
    ("user_registered", "success", None),
    ("login_refused", "failure", "invalid_credentials"),
    ("login_succeeded", "success", None),
    ("consent_granted", "success", None),
    ("authorization_code_issued", "success", None),
    ("authorization_code_redeemed", "success", None),
    ("access_token_issued", "success", None),
    ("refresh_token_issued", "success", None),
    # A refresh: the presented token is spent, a new pair is issued.
    ("refresh_token_rotated", "success", None),
    ("access_token_issued", "success", None),
    ("refresh_token_issued", "success", None),
    # The spent token again: a copy exists, so the whole family goes.
    ("refresh_token_reuse_detected", "failure", "refresh_token_reuse"),
    ("token_family_revoked", "success", None),
    ("token_request_refused", "failure", "invalid_grant"),
    # The first code again: refused, and recorded as a replay.
    ("authorization_code_replayed", "failure", "code_replayed"),
    ("token_request_refused", "failure", "invalid_code"),
    # Signed in still and consent remembered: a new code straight away, a new family.
    ("authorization_code_issued", "success", None),
    ("authorization_code_redeemed", "success", None),
    ("access_token_issued", "success", None),
    ("refresh_token_issued", "success", None),
    ("access_token_revoked", "success", None),
    ("consent_withdrawn", "success", None),
]


async def _code(web: httpx.AsyncClient, client_id: str) -> str:
    answer = await web.get(authorize_url(client_id))
    return redirected(answer)["code"]


async def test_a_users_story_gives_exactly_the_expected_audit_rows_in_order(
    browsers: Browsers, make_client: Any, authority: Authority, pool: asyncpg.Pool
) -> None:
    client = await make_client(
        grant_types=("authorization_code", "refresh_token"),
        scopes=("openid", "read", "write"),
        redirect_uris=(REDIRECT,),
        confidential=False,
    )
    admin = await make_client(scopes=("keyledger:admin",))
    username = f"story-{uuid.uuid4().hex[:8]}"
    user_id = await create_user(authority.store, username, "correct horse", Metadata(actor="admin"))
    web = browsers()

    page = await login_page(web, client.client_id)
    wrong = await web.post("/oauth/authorize/login", data=login_form(page, username, "wrong!"))
    assert wrong.status_code == 400
    consent = await web.post(
        "/oauth/authorize/login", data=login_form(page, username, "correct horse")
    )
    approve = {
        "request": hidden(consent.text, "request"),
        "csrf": hidden(consent.text, "csrf"),
        "decision": "approve",
    }
    first_code = redirected(await web.post("/oauth/authorize/consent", data=approve))["code"]
    first = (await exchange_code(web, client.client_id, first_code)).json()
    refreshed = await refresh_token(web, client.client_id, first["refresh_token"])
    assert refreshed.status_code == 200, refreshed.text
    reused = await refresh_token(web, client.client_id, first["refresh_token"])
    assert (reused.status_code, reused.json()["error"]) == (400, "invalid_grant")
    replayed = await exchange_code(web, client.client_id, first_code)
    assert (replayed.status_code, replayed.json()["error"]) == (400, "invalid_grant")

    second = (await exchange_code(web, client.client_id, await _code(web, client.client_id))).json()
    revoked = await web.post(
        "/oauth/revoke", data={"token": second["access_token"], "client_id": client.client_id}
    )
    assert revoked.status_code == 200
    admin_token = (
        await web.post(
            "/oauth/token",
            data={"grant_type": "client_credentials", "scope": "keyledger:admin"},
            auth=admin.basic,
        )
    ).json()["access_token"]
    withdrawn = await web.delete(
        f"/manage/users/{username}/consents/{client.client_id}",
        headers={"authorization": f"Bearer {admin_token}"},
    )
    assert withdrawn.status_code == 204, withdrawn.text
    introspected = await web.post(
        "/oauth/introspect",
        data={"token": second["refresh_token"]},
        auth=admin.basic,
    )
    assert introspected.json() == {"active": False}

    await catch_up(pool, audit_trail.PROJECTION, personal=reader(pool))
    async with pool.acquire() as conn:
        rows = await conn.fetch(
            """SELECT action, outcome, reason, actor, client_id, ip, stream_id, resource
               FROM audit_trail WHERE subject_user = $1 ORDER BY global_position""",
            user_id,
        )
    assert [(r["action"], r["outcome"], r["reason"]) for r in rows] == EXPECTED
    # Everything after registration went through the client, from the browser's address.
    assert {r["client_id"] for r in rows[1:-1]} == {client.client_id}
    assert len({r["ip"] for r in rows[1:-1]}) == 1
    # The withdrawal was an administrator's act.
    assert (rows[-1]["actor"], rows[-1]["client_id"]) == ("admin", client.client_id)
    # No credential reaches the trail, whatever the column.
    secrets_seen = {first_code, first["refresh_token"], second["access_token"], "wrong!"}
    assert not any(s in str(value) for r in rows for value in r.values() for s in secrets_seen)


async def test_a_bad_secret_a_denied_consent_and_a_lockout_are_audited_as_failures(
    browsers: Browsers, make_client: Any, authority: Authority, pool: asyncpg.Pool
) -> None:
    confidential = await make_client()
    client = await make_client(
        grant_types=("authorization_code",),
        scopes=("openid", "read"),
        redirect_uris=(REDIRECT,),
        confidential=False,
    )
    username = f"failures-{uuid.uuid4().hex[:8]}"
    user_id = await create_user(authority.store, username, "correct horse", Metadata(actor="admin"))
    web = browsers()
    bad_secret = "not-the-secret"
    for path, form in [
        ("/oauth/token", {"grant_type": "client_credentials"}),
        ("/oauth/introspect", {"token": "whatever"}),
    ]:
        answer = await web.post(path, data=form, auth=(confidential.client_id, bad_secret))
        assert (answer.status_code, answer.json()["error"]) == (401, "invalid_client")

    page = await login_page(web, client.client_id)
    consent = await web.post(
        "/oauth/authorize/login", data=login_form(page, username, "correct horse")
    )
    deny = {
        "request": hidden(consent.text, "request"),
        "csrf": hidden(consent.text, "csrf"),
        "decision": "deny",
    }
    assert redirected(await web.post("/oauth/authorize/consent", data=deny))["error"] == (
        "access_denied"
    )
    locked_out = browsers()
    form = login_form(await login_page(locked_out, client.client_id), username, "wrong!")
    statuses = [
        (await locked_out.post("/oauth/authorize/login", data=form)).status_code for _ in range(6)
    ]
    assert statuses == [400] * 5 + [429]

    await catch_up(pool, audit_trail.PROJECTION, personal=reader(pool))
    async with pool.acquire() as conn:
        refused = await conn.fetch(
            """SELECT action, outcome, reason, resource FROM audit_trail
               WHERE client_id = $1 ORDER BY global_position""",
            confidential.client_id,
        )
        about_user = await conn.fetch(
            """SELECT action, reason FROM audit_trail
               WHERE subject_user = $1 AND outcome = 'failure' ORDER BY global_position""",
            user_id,
        )
    assert [(r["action"], r["outcome"], r["reason"], r["resource"]) for r in refused][-2:] == [
        ("token_request_refused", "failure", "invalid_client", "token:client_credentials"),
        ("token_request_refused", "failure", "invalid_client", "introspection"),
    ]
    assert not any(bad_secret in str(v) for r in refused for v in r.values())
    assert [(r["action"], r["reason"]) for r in about_user] == [
        ("authorization_denied", "access_denied"),
        *[("login_refused", "invalid_credentials")] * 5,
        ("login_refused", "too_many_attempts"),
    ]
