"""No secret rests anywhere in clear: one whole scenario, then every place data is kept.

`keyledger serve` runs on a database and a JetStream stream of its own. A scenario drives
it over HTTP as its users would: clients registered and a secret rotated through the
management API, a user with a password and TOTP signing in and consenting on the pages, the
code exchanged, refreshed, the spent refresh token replayed, a service account's password
grant with its TOTP code, introspection, revocation, the account page, a workspace API key
made and used. Every secret that crossed the wire is collected; then each is searched for,
in clear and encoded, in the server's whole log output (API and worker), in every event's
payload and metadata, in every row of every table, and in every JetStream message.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
import httpx
import pytest

from domain.policies.pkce import challenge_s256
from domain.policies.totp import key_from_b32, totp
from infra.config import Settings
from infra.nats_bus import EventBus
from schemas.envelope import Metadata
from services.authority import open_authority
from services.clients import ClientRegistration, register_client
from tests.e2e.authorize_flow import REDIRECT, authorize_url, hidden, login_form, redirected
from tests.e2e.conftest import serving, wait_for
from tests.e2e.secrets_scan import Secrets, database_texts, leaks
from tests.jetstream import raw_messages

# What the wire must have handed out, so that the scan has them to look for.
COLLECTED = ("access_token", "refresh_token", "id_token", "authorization code", "key",
             "client_secret", "otp_secret", "page csrf", "page request", "cookie kl_session",
             "cookie kl_csrf")  # fmt: skip
VERIFIER = f"hygiene-verifier-{uuid.uuid4().hex}{uuid.uuid4().hex}"


@pytest.fixture
async def own_server(fresh_settings: Settings, tmp_path: Path) -> AsyncIterator[tuple[str, Path]]:
    """The served process on a fresh database and stream, and the file its output goes to."""
    log_path = tmp_path / "serve.log"
    with serving(fresh_settings, log_path) as base:
        yield base, log_path


def _code(secret_b32: str, offset_s: int = 0) -> str:
    return totp(key_from_b32(secret_b32), int(time.time()) + offset_s)


async def _scenario(web: httpx.AsyncClient, secrets: Secrets, admin: tuple[str, str]) -> str:
    """Everything a deployment's users do; returns the web client's id."""
    token = (
        await web.post(
            "/oauth/token",
            data={"grant_type": "client_credentials", "scope": "keyledger:admin"},
            auth=admin,
        )
    ).json()["access_token"]
    as_admin = {"authorization": f"Bearer {token}"}
    created = await web.post(
        "/manage/clients",
        json={
            "name": "hygiene web",
            "grant_types": ["authorization_code", "refresh_token", "password"],
            "scopes": ["openid", "profile", "read", "workspaces"],
            "redirect_uris": [REDIRECT],
        },
        headers=as_admin,
    )
    assert created.status_code == 201, created.text
    client_id, client_secret = created.json()["client_id"], created.json()["client_secret"]
    web_client = (client_id, client_secret)
    secrets.add("basic credentials", f"{client_id}:{client_secret}")

    people = {}
    for name, service_account in (("person", False), ("script", True)):
        username, password = f"{name}-{uuid.uuid4().hex[:8]}", f"pw-{uuid.uuid4().hex}"
        secrets.add(f"{name} password", password)
        body = {"username": username, "password": password, "otp": True}
        made = await web.post(
            "/manage/users", json={**body, "service_account": service_account}, headers=as_admin
        )
        assert made.status_code == 201, made.text
        people[name] = (username, password, made.json()["otp_secret"])

    # The person signs in on the pages with their TOTP code, and consents.
    username, password, seed = people["person"]
    challenge = challenge_s256(VERIFIER)
    page = await web.get(authorize_url(client_id, code_challenge=challenge, scope="openid read"))
    first_otp = _code(seed)
    secrets.add("TOTP code (page)", first_otp)
    form = {**login_form(page, username, password), "otp": first_otp, "lang": "en"}
    consent = await web.post("/oauth/authorize/login", data=form)
    assert consent.status_code == 200, consent.text
    approve = {
        "request": hidden(consent.text, "request"),
        "csrf": hidden(consent.text, "csrf"),
        "decision": "approve",
    }
    code = redirected(await web.post("/oauth/authorize/consent", data=approve))["code"]
    exchange = {"grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT}
    issued = await web.post(
        "/oauth/token", data={**exchange, "code_verifier": VERIFIER}, auth=web_client
    )
    assert issued.status_code == 200, issued.text
    refresh = {"grant_type": "refresh_token", "refresh_token": issued.json()["refresh_token"]}
    assert (await web.post("/oauth/token", data=refresh, auth=web_client)).status_code == 200
    replayed = await web.post("/oauth/token", data=refresh, auth=web_client)  # the reuse attack
    assert replayed.json()["error"] == "invalid_grant"

    # A script's password grant, with its TOTP code; its token makes a workspace API key.
    username, password, seed = people["script"]
    script_otp = _code(seed)
    secrets.add("TOTP code (password grant)", script_otp)
    grant = {"grant_type": "password", "username": username, "password": password}
    needs = await web.post("/oauth/token", data={**grant, "scope": "workspaces"}, auth=web_client)
    assert needs.json()["error_code"] == "otp_required"
    script = await web.post(
        "/oauth/token",
        data={**grant, "scope": "workspaces"},
        auth=web_client,
        headers={"x-otp-code": script_otp},
    )
    assert script.status_code == 200, script.text
    as_script = {"authorization": f"Bearer {script.json()['access_token']}"}
    workspace = (await web.post("/workspaces", json={"name": "ops"}, headers=as_script)).json()
    made_key = await web.post(
        f"/workspaces/{workspace['workspace_id']}/api-keys",
        json={"name": "ci", "scopes": ["analytics.read"]},
        headers=as_script,
    )
    assert made_key.status_code == 201, made_key.text
    as_key = {
        "authorization": f"Bearer {made_key.json()['key']}",
        "x-workspace-id": workspace["workspace_id"],
    }
    assert (await web.get("/api-keys/current", headers=as_key)).status_code == 200

    # Introspection and revocation of the person's access token, then a new client secret.
    access = {"token": issued.json()["access_token"]}
    assert (await web.post("/oauth/introspect", data=access, auth=web_client)).status_code == 200
    assert (await web.post("/oauth/revoke", data=access, auth=web_client)).status_code == 200
    rotate = f"/manage/clients/{client_id}/rotate-secret"
    rotated = await web.post(rotate, json={}, headers=as_admin)
    assert rotated.status_code == 200, rotated.text
    renewed = (client_id, rotated.json()["client_secret"])
    secrets.add("basic credentials (rotated)", f"{client_id}:{renewed[1]}")
    assert (await web.post("/oauth/introspect", data=access, auth=renewed)).json() == {
        "active": False
    }

    # The account page: the person signs in again (the next TOTP step) and disconnects.
    username, password, seed = people["person"]
    account = await web.get("/account")
    next_otp = _code(seed, 30)
    secrets.add("TOTP code (account page)", next_otp)
    signed_in = await web.post(
        "/account",
        data={
            "csrf": hidden(account.text, "csrf"),
            "lang": "en",
            "username": username,
            "password": password,
            "otp": next_otp,
        },
    )
    assert signed_in.status_code == 303, signed_in.text
    listing = await web.get("/account")
    disconnected = await web.post(
        "/account/disconnect", data={"csrf": hidden(listing.text, "csrf"), "client_id": client_id}
    )
    assert disconnected.status_code == 303, disconnected.text
    return str(client_id)


async def test_no_secret_of_a_whole_scenario_rests_anywhere_in_clear(
    fresh_settings: Settings, own_server: tuple[str, Path]
) -> None:
    base, log_path = own_server
    assert fresh_settings.database_url is not None and fresh_settings.nats_url is not None
    secrets = Secrets()
    secrets.add("PKCE verifier", VERIFIER)
    async with asyncpg.create_pool(fresh_settings.database_url, min_size=1, max_size=4) as pool:
        authority = await open_authority(fresh_settings, pool)
        admin_id, admin_secret = await register_client(
            authority.store,
            authority.hasher,
            ClientRegistration(
                name="hygiene admin", grant_types=("client_credentials",),
                scopes=("keyledger:admin",), redirect_uris=(),
            ),
            Metadata(actor="admin"),
        )  # fmt: skip
        assert admin_secret is not None
        secrets.add("basic credentials (admin)", f"{admin_id}:{admin_secret}")
        async with httpx.AsyncClient(
            base_url=base, timeout=20, event_hooks={"response": [secrets.from_response]}
        ) as web:
            client_id = await _scenario(web, secrets, (admin_id, admin_secret))
        assert set(COLLECTED) <= set(secrets.found.values())

        async with pool.acquire() as conn:
            tables = await database_texts(conn)
            logged: int = await conn.fetchval("SELECT max(global_position) FROM events")
    bus = await EventBus.connect(
        fresh_settings.nats_url, stream=fresh_settings.nats_stream,
        prefix=fresh_settings.subject_prefix, name="hygiene",
    )  # fmt: skip
    try:

        async def relayed() -> bool:
            published = await raw_messages(bus)
            positions = [int(h.get("Keyledger-Position", 0)) for _, _, h in published]
            return max(positions, default=0) >= logged

        await wait_for(relayed, timeout=30)
        messages = [f"{s}\n{d.decode()}\n{h}" for s, d, h in await raw_messages(bus)]
    finally:
        await bus.close()
    server_log = log_path.read_text(encoding="utf-8", errors="replace")

    # Each source was read, and holds what it should: the scan would see a leak there.
    assert client_id in server_log and '"event": "http_request"' in server_log
    assert any(client_id in row for row in tables["events (decoded)"])
    assert any(client_id in row for row in tables["public.clients"])
    assert any(client_id in message for message in messages)
    everything = {
        "server log": [server_log],
        "JetStream": messages,
        **tables,
    }
    found = {where: leaks(secrets, texts) for where, texts in everything.items()}
    assert {where: what for where, what in found.items() if what} == {}
