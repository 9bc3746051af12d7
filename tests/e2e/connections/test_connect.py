"""Connecting an account at a real upstream keyledger, through its own login and consent pages,
and what the owner, the log and the audit trail say about it."""

from __future__ import annotations

import json
from typing import Any

import pytest

from projections import audit_trail
from services.projector import catch_up
from tests.e2e.connections.harness import Downstream, Upstream, cli, state_of
from tests.personal import reader

pytestmark = pytest.mark.asyncio


async def test_a_user_connects_through_the_upstream_pages_and_sees_a_healthy_connection(
    down: Downstream, upstream: Upstream
) -> None:
    client = await upstream.connector_client()
    provider = await down.register_provider(upstream, client, refresh_margin_s=30)
    user, account = await down.user(), await upstream.user()

    connection_id = await down.connect(user, provider, upstream, account)

    view = await down.status(user, connection_id)
    assert view["status"] == "healthy"
    assert view["has_refresh_token"] is True
    assert view["scopes"] == ["openid", "profile", "read"]
    async with upstream.pool.acquire() as conn:
        upstream_user = await conn.fetchval(
            "SELECT user_id FROM users WHERE username = $1", account
        )
    assert view["upstream_subject"] == upstream_user  # from the checked ID token
    held = await down.connector.vault.held(connection_id)
    assert held.access is not None and held.refresh is not None
    assert await upstream.introspect(client, held.access)
    listed = await down.http.get("/connections", headers=user.headers)
    assert [c["connection_id"] for c in listed.json()["connections"]] == [connection_id]
    for text in (listed.text, str(view)):
        assert held.access.reveal() not in text and held.refresh.reveal() not in text

    assert await down.event_types(connection_id) == ["connection_started", "connection_established"]
    await catch_up(down.pool, audit_trail.PROJECTION, personal=reader(down.pool))
    async with down.pool.acquire() as conn:
        rows = await conn.fetch(
            "SELECT action, outcome, subject_user, resource FROM audit_trail"
            " WHERE resource = $1 ORDER BY seq", f"connection:{connection_id}",
        )  # fmt: skip
    assert [(r["action"], r["outcome"], r["subject_user"]) for r in rows] == [
        ("connection_started", "success", user.user_id),
        ("connection_established", "success", user.user_id),
    ]


async def _started(down: Downstream, user: Any, provider: str) -> tuple[str, str]:
    started = await down.http.post(
        "/connections", json={"provider": provider}, headers=user.headers
    )
    assert started.status_code == 201, started.text
    body = started.json()
    return body["connection_id"], state_of(body["authorization_url"])


async def test_the_callback_refuses_a_forged_state_a_mixed_up_issuer_and_a_denial(
    down: Downstream, upstream: Upstream
) -> None:
    provider = await down.register_provider(upstream, await upstream.connector_client())
    user = await down.user()

    forged = await down.http.get("/connections/callback", params={"state": "x" * 43, "code": "c"})
    assert (forged.status_code, forged.json()["error"]) == (400, "invalid_request")

    mixed_up, state = await _started(down, user, provider)
    answer = await down.http.get(
        "/connections/callback", params={"state": state, "code": "c", "iss": "https://evil.example"}
    )
    assert (answer.status_code, answer.json()["error"]) == (400, "invalid_request")
    assert (await down.status(user, mixed_up))["status"] == "failed"
    again = await down.http.get(
        "/connections/callback", params={"state": state, "code": "c", "iss": upstream.base}
    )
    assert again.status_code == 400  # the state is spent with its attempt

    denied, state = await _started(down, user, provider)
    refusal = await down.http.get(
        "/connections/callback",
        params={"state": state, "error": "access_denied", "iss": upstream.base},
    )
    assert (refusal.status_code, refusal.json()["error"]) == (403, "access_denied")
    assert (await down.status(user, denied))["end_reason"] == "access_denied"

    repeated = await down.http.get(f"/connections/callback?state={state}&state={state}")
    assert (repeated.status_code, repeated.json()["error"]) == (400, "invalid_request")

    stranger = await down.user()
    hidden = await down.http.get(f"/connections/{denied}", headers=stranger.headers)
    assert hidden.status_code == 404
    assert (await down.event_types(mixed_up))[-1] == "connection_attempt_failed"


async def test_an_operator_registers_a_provider_from_the_cli_with_the_secret_on_stdin(
    down: Downstream, upstream: Upstream
) -> None:
    client_id, secret = await upstream.connector_client()
    assert secret is not None
    code, out, err = await cli(
        down.settings, "providers", "register", "--name", "from-the-shell", "--issuer",
        upstream.base, "--client-id", client_id, "--client-secret-stdin", "--scope", "openid",
        "--refresh-margin", "30", "--json", stdin=secret + "\n",
    )  # fmt: skip
    assert code == 0, err
    registered = json.loads(out)
    assert registered["token_endpoint"] == f"{upstream.base}/oauth/token"  # discovered
    assert registered["has_client_secret"] is True and secret not in out
    user = await down.user()
    await down.connect(user, "from-the-shell", upstream, await upstream.user())
    again = await down.http.get("/manage/providers", headers=await down.admin_headers())
    assert "from-the-shell" in {p["name"] for p in again.json()["providers"]}
    assert secret not in again.text
