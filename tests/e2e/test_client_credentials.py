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


async def test_token_by_id_is_revoked_only_by_its_own_client(
    api: AsyncTestClient[Litestar], make_client: Any
) -> None:
    client, stranger = await make_client(), await make_client()
    token = (
        await api.post("/oauth/token", data={"grant_type": "client_credentials"}, auth=client.basic)
    ).json()["access_token"]
    jwks = (await api.get("/.well-known/jwks.json")).json()
    claims = VerifyingKeys.from_jwks(jwks["keys"]).verify(token)
    assert claims is not None

    foreign = await api.delete(f"/oauth/token/{claims['jti']}", auth=stranger.basic)
    assert foreign.status_code == 404
    own = await api.delete(f"/oauth/token/{claims['jti']}", auth=client.basic)
    assert own.status_code == 204
    seen = await api.post("/oauth/introspect", data={"token": token}, auth=client.basic)
    assert seen.json() == {"active": False}


async def test_json_bodies_are_accepted_and_bad_requests_get_protocol_errors(
    api: AsyncTestClient[Litestar], make_client: Any
) -> None:
    client = await make_client()
    as_json = await api.post(
        "/oauth/token",
        json={"grant_type": "client_credentials", "scope": "write"},
        auth=client.basic,
    )
    assert as_json.status_code == 200 and as_json.json()["scope"] == "write"

    cases: list[tuple[dict[str, Any], int, str, str]] = [
        (
            {"data": {"grant_type": "magic"}, "auth": client.basic},
            400,
            "unsupported_grant_type",
            "unsupported_grant_type",
        ),
        (
            {"data": {"scope": "read"}, "auth": client.basic},
            400,
            "invalid_request",
            "invalid_request",
        ),
        (
            {"data": {"grant_type": "client_credentials", "scope": "admin"}, "auth": client.basic},
            400,
            "invalid_scope",
            "invalid_scope",
        ),
        (
            {"data": {"grant_type": "client_credentials"}, "auth": (client.client_id, "kls_wrong")},
            401,
            "invalid_client",
            "invalid_client",
        ),
        ({"data": {"grant_type": "client_credentials"}}, 401, "invalid_client", "invalid_client"),
        (
            {
                "content": b"grant_type=client_credentials&grant_type=password",
                "auth": client.basic,
                "headers": {"content-type": "application/x-www-form-urlencoded"},
            },
            400,
            "invalid_request",
            "invalid_request",
        ),
        (
            {
                "content": b"{not json",
                "auth": client.basic,
                "headers": {"content-type": "application/json"},
            },
            400,
            "invalid_request",
            "invalid_request",
        ),
        (
            {
                "content": b"\xff\xfe",
                "auth": client.basic,
                "headers": {"content-type": "application/x-www-form-urlencoded"},
            },
            400,
            "invalid_request",
            "invalid_request",
        ),
        (
            {"data": {"grant_type": "client_credentials", "client_id": "x\x00y"}},
            400,
            "invalid_request",
            "invalid_request",
        ),
        (
            {"data": {"grant_type": "authorization_code"}, "auth": client.basic},
            400,
            "invalid_request",
            "invalid_request",
        ),
    ]
    for kwargs, status, error, code in cases:
        answer = await api.post("/oauth/token", **kwargs)
        assert (answer.status_code, answer.json()["error"], answer.json()["error_code"]) == (
            status,
            error,
            code,
        ), kwargs
    in_url = await api.post(
        f"/oauth/token?client_secret={client.secret}", data={"grant_type": "client_credentials"}
    )
    assert in_url.status_code == 400 and "URL" in in_url.json()["error_description"]
    unauthorized = await api.post("/oauth/token", data={"grant_type": "client_credentials"})
    assert unauthorized.headers["www-authenticate"].startswith("Basic")


async def test_the_hot_endpoints_carry_the_request_id_into_the_answer_and_the_event(
    api: AsyncTestClient[Litestar], make_client: Any, pool: Any
) -> None:
    # They are served ahead of the middleware (services/api/fast_lane.py): they must keep
    # what the middleware gives every other route.
    client = await make_client()
    form = {"grant_type": "client_credentials", "scope": "read"}
    issued = await api.post(
        "/oauth/token", data=form, auth=client.basic, headers={"X-Request-Id": "trace-7"}
    )
    assert issued.status_code == 200 and issued.headers["x-request-id"] == "trace-7"
    async with pool.acquire() as conn:
        recorded = await conn.fetchval(
            "SELECT metadata->>'request_id' FROM events WHERE event_type = 'access_token_issued'"
            " AND metadata->>'client_id' = $1",
            client.client_id,
        )
    assert recorded == "trace-7"

    refused = await api.post(
        "/oauth/introspect", data={"token": "x"}, auth=(client.client_id, "no")
    )
    assert refused.status_code == 401 and len(refused.headers["x-request-id"]) == 32
    wrong_method = await api.get("/oauth/token")
    assert wrong_method.status_code == 405 and wrong_method.headers["allow"] == "POST"
