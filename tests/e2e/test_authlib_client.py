"""A third-party OAuth client (Authlib) against the served process, and what the server logs.

Authlib speaks RFC 6749/7636/7009/7662 on its own terms: if keyledger deviates, it fails.
Every secret the flows handle is then searched for in the server's complete log output.
"""

from __future__ import annotations

from typing import Any

import httpx
from authlib.common.security import generate_token
from authlib.integrations.httpx_client import AsyncOAuth2Client
from authlib.oauth2.rfc7636 import create_s256_code_challenge

from infra.config import Settings
from schemas.envelope import Metadata
from services.authority import Authority
from services.users import create_user
from tests.e2e.conftest import server_log_path
from tests.e2e.test_token_grants import REDIRECT, issue_code_with_challenge


async def test_authlib_client_runs_every_flow_and_no_secret_reaches_a_log(
    live_server: str,
    make_client: Any,
    authority: Authority,
    settings: Settings,
) -> None:
    token_url = f"{live_server}/oauth/token"
    secrets: list[str] = []

    service = await make_client(scopes=("read", "write"))
    secrets.append(service.secret)
    async with AsyncOAuth2Client(service.client_id, service.secret, scope="read") as oauth:
        issued = await oauth.fetch_token(token_url, grant_type="client_credentials")
        secrets.append(issued["access_token"])
        assert issued["token_type"] == "Bearer" and issued["scope"] == "read"
        seen = await oauth.introspect_token(
            f"{live_server}/oauth/introspect", token=issued["access_token"]
        )
        assert seen.json()["active"] is True

    app = await make_client(
        grant_types=("authorization_code", "refresh_token"),
        scopes=("openid", "read"),
        redirect_uris=(REDIRECT,),
    )
    secrets.append(app.secret)
    password = "authlib-user-password"
    secrets.append(password)
    user_id = await create_user(authority.store, "authlib-user", password, Metadata())
    verifier = generate_token(64)
    code = await issue_code_with_challenge(
        authority, app.client_id, user_id, ("openid", "read"), create_s256_code_challenge(verifier)
    )
    secrets.append(code)
    async with AsyncOAuth2Client(
        app.client_id, app.secret, redirect_uri=REDIRECT, code_challenge_method="S256"
    ) as oauth:
        tokens = await oauth.fetch_token(token_url, code=code, code_verifier=verifier)
        secrets += [tokens["access_token"], tokens["refresh_token"], tokens["id_token"]]
        assert tokens["scope"] == "openid read"

        renewed = await oauth.refresh_token(token_url, refresh_token=tokens["refresh_token"])
        secrets += [renewed["access_token"], renewed["refresh_token"]]
        assert renewed["refresh_token"] != tokens["refresh_token"]

        revoked = await oauth.revoke_token(
            f"{live_server}/oauth/revoke",
            token=renewed["refresh_token"],
            token_type_hint="refresh_token",
        )
        assert revoked.status_code == 200
        for token in (renewed["access_token"], renewed["refresh_token"]):
            after = await oauth.introspect_token(f"{live_server}/oauth/introspect", token=token)
            assert after.json() == {"active": False}

    # A secret put where it must not go is refused, and logged only redacted.
    async with httpx.AsyncClient() as raw:
        misplaced = await raw.post(
            f"{token_url}?client_secret={service.secret}&grant_type=client_credentials",
            data={"client_id": service.client_id},
        )
    assert misplaced.status_code == 400 and misplaced.json()["error"] == "invalid_request"

    server_log = server_log_path(settings).read_text(encoding="utf-8", errors="replace")
    captured = server_log
    # The server did log every request, with the refused one's query string.
    requests = [line for line in server_log.splitlines() if '"event": "http_request"' in line]
    assert len(requests) >= 8
    assert all('"request_id": "' in line for line in requests)  # bound to every line
    assert "client_secret=[redacted]" in server_log
    leaked = [secret[:12] for secret in secrets if secret in captured]
    assert leaked == []
