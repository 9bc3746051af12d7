"""What else revokes (incidents, password changes, withdrawn consent): in force at once."""

from __future__ import annotations

import asyncio
import base64
import json
import os
import sys
import uuid
from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import pytest
from litestar.testing import AsyncTestClient

from infra.config import Settings
from schemas.envelope import Metadata
from services.api.app import create_app
from services.authority import Authority, open_authority
from services.clients import ClientRegistration, register_client
from services.users import create_user
from tests.e2e.authorize_flow import (
    Browsers,
    code_client,
    exchange_code,
    hidden,
    login_form,
    login_page,
    redirected,
)

PASSWORD = "correct horse battery"


def _part(token: str, index: int) -> dict[str, Any]:
    segment = token.split(".")[index]
    decoded: dict[str, Any] = json.loads(
        base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))
    )
    return decoded


async def _token(api: Any, client: Any, scope: str) -> str:
    data = {"grant_type": "client_credentials", "scope": scope}
    issued = await api.post("/oauth/token", data=data, auth=client.basic)
    assert issued.status_code == 200, issued.text
    token: str = issued.json()["access_token"]
    return token


async def _active(api: Any, client: Any, token: str) -> bool:
    answer = await api.post("/oauth/introspect", data={"token": token}, auth=client.basic)
    assert answer.status_code == 200, answer.text
    active: bool = answer.json()["active"]
    return active


@pytest.fixture
async def admin(api: Any, make_client: Any) -> dict[str, str]:
    client = await make_client(scopes=("keyledger:admin",))
    return {"authorization": f"Bearer {await _token(api, client, 'keyledger:admin')}"}


async def test_revoking_a_users_tokens_ends_them_all_and_so_does_a_password_change(
    api: Any, admin: dict[str, str], make_client: Any
) -> None:
    client = await make_client(grant_types=("password",), scopes=("read",))
    username = f"svc-{uuid.uuid4().hex[:8]}"
    created = await api.post(
        "/manage/users",
        json={"username": username, "password": PASSWORD, "service_account": True},
        headers=admin,
    )
    assert created.status_code == 201, created.text
    form = {"grant_type": "password", "username": username, "password": PASSWORD, "scope": "read"}

    async def sign_in() -> str:
        issued = await api.post("/oauth/token", data=form, auth=client.basic)
        assert issued.status_code == 200, issued.text
        token: str = issued.json()["access_token"]
        return token

    tokens = [await sign_in(), await sign_in()]
    revoked = await api.post(
        f"/manage/users/{username}/revoke-tokens", json={"reason": "laptop stolen"}, headers=admin
    )
    assert revoked.status_code == 200, revoked.text
    assert [await _active(api, client, token) for token in tokens] == [False, False]
    # The account still signs in, and what it gets now works...
    fresh = await sign_in()
    assert await _active(api, client, fresh)
    # ...until its password changes: that revokes every token of the user too.
    form["password"] = PASSWORD + " staple"
    changed = await api.post(
        f"/manage/users/{username}/password", json={"password": form["password"]}, headers=admin
    )
    assert changed.status_code == 200, changed.text
    assert not await _active(api, client, fresh)
    unknown = await api.post("/manage/users/nobody-at-all/revoke-tokens", headers=admin)
    assert (unknown.status_code, unknown.json()["error"]) == (404, "not_found")


async def test_revoking_a_workspaces_tokens_ends_those_of_its_clients_only(
    api: Any, admin: dict[str, str], make_client: Any
) -> None:
    workspace = f"ws-{uuid.uuid4().hex[:8]}"
    inside = await make_client(scopes=("read",), workspace_id=workspace)
    outside = await make_client(scopes=("read",))
    token, other = await _token(api, inside, "read"), await _token(api, outside, "read")
    # What resource servers match revocations on.
    assert _part(token, 1)["workspace_id"] == workspace
    assert "family_id" in _part(token, 1) and "workspace_id" not in _part(other, 1)

    revoked = await api.post(f"/manage/workspaces/{workspace}/revoke-tokens", headers=admin)
    assert revoked.status_code == 200, revoked.text
    assert revoked.json() == {"workspace_id": workspace}
    assert not await _active(api, inside, token)
    assert await _active(api, outside, other)
    unknown = await api.post("/manage/workspaces/no-such-workspace/revoke-tokens", headers=admin)
    assert (unknown.status_code, unknown.json()["error"]) == (404, "not_found")
    bad = await api.post(
        f"/manage/workspaces/{workspace}/revoke-tokens", json={"reason": 1}, headers=admin
    )
    assert (bad.status_code, bad.json()["error"]) == (400, "invalid_request")


@pytest.fixture
async def own_api(fresh_settings: Settings) -> AsyncIterator[Any]:
    """An app on a database of its own: revoking a signing key must not touch the suite's."""
    async with AsyncTestClient(
        app=create_app(fresh_settings), base_url="http://127.0.0.1:8000"
    ) as client:
        yield client


async def test_revoking_a_signing_key_takes_it_out_of_the_jwks_and_ends_what_it_signed(
    own_api: Any, fresh_settings: Settings
) -> None:
    assert fresh_settings.database_url is not None
    async with asyncpg.create_pool(fresh_settings.database_url, min_size=1, max_size=2) as pool:
        authority = await open_authority(fresh_settings, pool)
        client_id, secret = await register_client(
            authority.store, authority.hasher,
            ClientRegistration(name="k", grant_types=("client_credentials",),
                               scopes=("read", "keyledger:admin"), confidential=True),
            Metadata(actor="admin"),
        )  # fmt: skip

    class _Client:
        basic = (client_id, secret or "")

    token = await _token(own_api, _Client, "read")
    kid = _part(token, 0)["kid"]
    admin = {"authorization": f"Bearer {await _token(own_api, _Client, 'keyledger:admin')}"}
    revoked = await own_api.post(
        f"/manage/keys/{kid}/revoke", json={"reason": "leak"}, headers=admin
    )
    assert revoked.status_code == 200, revoked.text
    body = revoked.json()
    assert body["kid"] == kid and len(body["kids"]) == 2  # it was signing: a new pair took over
    jwks = (await own_api.get("/.well-known/jwks.json")).json()["keys"]
    assert kid not in {key["kid"] for key in jwks}
    assert not await _active(own_api, _Client, token)
    # The admin token was signed by that key as well: a new one, signed by the new key.
    admin = {"authorization": f"Bearer {await _token(own_api, _Client, 'keyledger:admin')}"}
    fresh = await _token(own_api, _Client, "read")
    assert _part(fresh, 0)["kid"] in body["kids"]
    assert await _active(own_api, _Client, fresh)
    again = await own_api.post(f"/manage/keys/{kid}/revoke", headers=admin)
    assert (again.status_code, again.json()["error"]) == (404, "not_found")


async def test_a_code_issued_before_its_consent_was_withdrawn_buys_no_tokens(
    browsers: Browsers, api: Any, admin: dict[str, str], make_client: Any, authority: Authority
) -> None:
    client_id = await code_client(make_client)
    username = f"code-{uuid.uuid4().hex[:8]}"
    await create_user(authority.store, username, PASSWORD, Metadata(actor="admin"))
    web = browsers()
    consent = await web.post(
        "/oauth/authorize/login",
        data=login_form(await login_page(web, client_id), username, PASSWORD),
    )
    approve = {
        "request": hidden(consent.text, "request"),
        "csrf": hidden(consent.text, "csrf"),
        "decision": "approve",
    }
    code = redirected(await web.post("/oauth/authorize/consent", data=approve))["code"]
    withdrawn = await api.delete(f"/manage/users/{username}/consents/{client_id}", headers=admin)
    assert withdrawn.status_code == 204, withdrawn.text
    exchanged = await exchange_code(web, client_id, code)
    assert exchanged.status_code == 400, exchanged.text
    assert exchanged.json()["error_code"] == "invalid_code"


async def test_keyledger_watch_revocations_prints_them_as_they_happen(
    api: Any, make_client: Any, settings: Settings, live_server: str
) -> None:
    del live_server  # its relay publishes what the app here appends
    client = await make_client(scopes=("read",))
    env = {
        **os.environ,
        "KEYLEDGER_NATS_URL": settings.nats_url or "",
        "KEYLEDGER_NATS_STREAM": settings.nats_stream,
        "KEYLEDGER_SUBJECT_PREFIX": settings.subject_prefix,
    }
    # --since: however long the watcher takes to subscribe, the revocation is not missed.
    watch = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "services.cli", "watch", "revocations", "--json", "--since", "600",
        env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    try:
        token = await _token(api, client, "read")
        jti = _part(token, 1)["jti"]
        revoked = await api.delete(f"/oauth/token/{jti}", auth=client.basic)
        assert revoked.status_code == 204
        assert watch.stdout is not None
        async with asyncio.timeout(30):
            while (printed := json.loads(line := await watch.stdout.readline())).get("jti") != jti:
                pass  # an earlier test's revocation
        assert (printed["kind"], printed["cause"]) == ("token", "access_token_revoked")
        assert token not in line.decode()  # identifiers only, never a token
    finally:
        if watch.returncode is None:
            watch.terminate()
        await watch.wait()


async def test_keyledger_watch_revocations_says_when_nats_cannot_be_reached() -> None:
    env = {**os.environ, "KEYLEDGER_NATS_URL": "nats://127.0.0.1:1"}
    watch = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "services.cli", "watch", "revocations",
        env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    _, err = await asyncio.wait_for(watch.communicate(), timeout=30)
    assert watch.returncode == 1
    assert (
        err.decode()
        .strip()
        .splitlines()[-1]
        .startswith("keyledger: cannot reach NATS at nats://127.0.0.1:1")
    )
