"""Client credentials, introspection and revocation through the real app."""

from __future__ import annotations

from typing import Any

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient

from infra.crypto.jwt import VerifyingKeys

pytestmark = pytest.mark.asyncio


async def test_client_credentials_token_is_a_verifiable_jwt_and_introspects_active(
    api: AsyncTestClient[Litestar],
    make_client: Any,
) -> None:
    client = await make_client()
    issued = await api.post(
        "/oauth/token",
        data={"grant_type": "client_credentials", "scope": "read"},
        auth=client.basic,
    )
    assert issued.status_code == 200, issued.text
    assert issued.headers["cache-control"] == "no-store"
    body = issued.json()
    assert body["token_type"] == "Bearer" and body["scope"] == "read" and body["expires_in"] == 3600
    assert "refresh_token" not in body

    jwks = (await api.get("/.well-known/jwks.json")).json()
    claims = VerifyingKeys.from_jwks(jwks["keys"]).verify(body["access_token"], typ="at+jwt")
    assert claims is not None and claims["client_id"] == client.client_id

    seen = await api.post(
        "/oauth/introspect", data={"token": body["access_token"]}, auth=client.basic
    )
    assert seen.json()["active"] is True and seen.json()["client_id"] == client.client_id

    revoked = await api.post(
        "/oauth/revoke", data={"token": body["access_token"]}, auth=client.basic
    )
    assert revoked.status_code == 200
    after = await api.post(
        "/oauth/introspect", data={"token": body["access_token"]}, auth=client.basic
    )
    assert after.json() == {"active": False}
