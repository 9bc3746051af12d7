"""The code, refresh and password grants through the real app, including under contention."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

import asyncpg
from litestar import Litestar
from litestar.testing import AsyncTestClient

from domain import authorization as authorization_domain
from domain.policies.pkce import challenge_s256
from infra.crypto.digests import new_token, token_digest
from infra.crypto.jwt import VerifyingKeys
from schemas.envelope import Metadata
from schemas.events import AuthorizationCodeIssued
from services.authority import Authority
from services.clients import CLIENT_TTL_S
from services.commands import execute, utcnow
from services.users import create_user
from tests.e2e.conftest import wait_for

REDIRECT = "https://app.example/callback"
VERIFIER = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"


async def issue_code(
    authority: Authority,
    client_id: str,
    user_id: str,
    scopes: tuple[str, ...],
    nonce: str | None = None,
) -> str:
    challenge = challenge_s256(VERIFIER)
    return await issue_code_with_challenge(
        authority, client_id, user_id, scopes, challenge, nonce=nonce
    )


async def issue_code_with_challenge(
    authority: Authority,
    client_id: str,
    user_id: str,
    scopes: tuple[str, ...],
    challenge: str,
    *,
    nonce: str | None = None,
) -> str:
    """What the consent page does on approval: a code recorded as its digest."""
    code = new_token("klc_")
    now = utcnow()
    issued = AuthorizationCodeIssued(
        code_digest=token_digest(code),
        client_id=client_id,
        user_id=user_id,
        redirect_uri=REDIRECT,
        scopes=scopes,
        code_challenge=challenge,
        expires_at=now + timedelta(seconds=60),
        auth_time=now,
        nonce=nonce,
    )
    await execute(
        authority.store,
        authorization_domain.decider,
        f"authorization-{token_digest(code)}",
        authorization_domain.IssueCode(issued=issued),
        Metadata(actor="user", actor_id=user_id),
    )
    return code


def exchange(code: str, verifier: str = VERIFIER) -> dict[str, str]:
    return {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": REDIRECT,
        "code_verifier": verifier,
    }


async def code_client(make_client: Any) -> Any:
    return await make_client(
        grant_types=("authorization_code", "refresh_token"),
        scopes=("openid", "profile", "read"),
        redirect_uris=(REDIRECT,),
    )


async def test_code_exchange_issues_tokens_with_id_token_once(
    api: AsyncTestClient[Litestar],
    make_client: Any,
    authority: Authority,
) -> None:
    client = await code_client(make_client)
    user_id = await create_user(authority.store, "ada-code", "correct horse battery", Metadata())
    code = await issue_code(
        authority, client.client_id, user_id, ("openid", "profile"), nonce="n-1"
    )

    first = await api.post("/oauth/token", data=exchange(code), auth=client.basic)
    assert first.status_code == 200, first.text
    tokens = first.json()
    keys = VerifyingKeys.from_jwks((await api.get("/.well-known/jwks.json")).json()["keys"])
    id_claims = keys.verify(tokens["id_token"])
    assert id_claims is not None
    assert (id_claims["sub"], id_claims["aud"], id_claims["nonce"]) == (
        user_id,
        client.client_id,
        "n-1",
    )
    info = await api.get(
        "/oauth/userinfo", headers={"Authorization": f"Bearer {tokens['access_token']}"}
    )
    assert info.json() == {"sub": user_id, "preferred_username": "ada-code"}

    again = await api.post("/oauth/token", data=exchange(code), auth=client.basic)
    assert again.status_code == 400
    assert again.json()["error"] == "invalid_grant" and again.json()["error_code"] == "invalid_code"
    # The replay revoked what the first exchange issued.
    for token in (tokens["access_token"], tokens["refresh_token"]):
        seen = await api.post("/oauth/introspect", data={"token": token}, auth=client.basic)
        assert seen.json() == {"active": False}


async def test_wrong_verifier_is_pkce_mismatch(
    api: AsyncTestClient[Litestar],
    make_client: Any,
    authority: Authority,
) -> None:
    client = await code_client(make_client)
    code = await issue_code(authority, client.client_id, "u-pkce", ("read",))
    wrong = await api.post("/oauth/token", data=exchange(code, "x" * 43), auth=client.basic)
    assert wrong.status_code == 400 and wrong.json()["error_code"] == "pkce_mismatch"


async def test_fifty_concurrent_redemptions_issue_exactly_one_token_set(
    api: AsyncTestClient[Litestar],
    make_client: Any,
    authority: Authority,
    pool: asyncpg.Pool,
) -> None:
    client = await code_client(make_client)
    code = await issue_code(authority, client.client_id, "u-race", ("read",))
    answers = await asyncio.gather(
        *(api.post("/oauth/token", data=exchange(code), auth=client.basic) for _ in range(50))
    )
    statuses = sorted(answer.status_code for answer in answers)
    assert statuses == [200] + [400] * 49
    async with pool.acquire() as conn:
        redeemed = await conn.fetchval(
            "SELECT count(*) FROM events"
            " WHERE stream_id = $1 AND event_type = 'authorization_code_redeemed'",
            f"authorization-{token_digest(code)}",
        )
    assert redeemed == 1


async def test_refresh_rotates_and_fifty_concurrent_refreshes_let_one_win_and_revoke_the_family(
    api: AsyncTestClient[Litestar],
    make_client: Any,
    authority: Authority,
    pool: asyncpg.Pool,
) -> None:
    client = await code_client(make_client)
    code = await issue_code(authority, client.client_id, "u-refresh", ("read",))
    first = (await api.post("/oauth/token", data=exchange(code), auth=client.basic)).json()

    rotated = await api.post(
        "/oauth/token",
        data={"grant_type": "refresh_token", "refresh_token": first["refresh_token"]},
        auth=client.basic,
    )
    assert rotated.status_code == 200
    second = rotated.json()
    assert second["refresh_token"] != first["refresh_token"]

    answers = await asyncio.gather(
        *(
            api.post(
                "/oauth/token",
                data={"grant_type": "refresh_token", "refresh_token": second["refresh_token"]},
                auth=client.basic,
            )
            for _ in range(50)
        )
    )
    assert sorted(a.status_code for a in answers) == [200] + [400] * 49
    winner = next(a.json() for a in answers if a.status_code == 200)
    for token in (winner["access_token"], winner["refresh_token"], second["access_token"]):
        seen = await api.post("/oauth/introspect", data={"token": token}, auth=client.basic)
        assert seen.json() == {"active": False}
    async with pool.acquire() as conn:
        reuse = await conn.fetchval(
            "SELECT count(*) FROM events WHERE event_type = 'refresh_token_reuse_detected'"
            " AND stream_id = (SELECT 'token_family-' || family_id"
            "                  FROM token_state WHERE token_digest = $1)",
            token_digest(second["refresh_token"]),
        )
    assert reuse == 1


async def test_password_grant_with_totp_and_lockout(
    api: AsyncTestClient[Litestar],
    make_client: Any,
    authority: Authority,
) -> None:
    from domain.policies import totp  # noqa: PLC0415
    from services.users import enable_otp  # noqa: PLC0415

    client = await make_client(grant_types=("password",), scopes=("read",))
    user_id = await create_user(
        authority.store, "svc-otp", "s3cret-pass-1", Metadata(), service_account=True
    )
    enrolment = await enable_otp(
        authority.store,
        authority.sealer,
        user_id,
        username="svc-otp",
        issuer="keyledger",
        metadata=Metadata(),
    )
    assert enrolment is not None
    form = {"grant_type": "password", "username": "svc-otp", "password": "s3cret-pass-1"}

    need = await api.post("/oauth/token", data=form, auth=client.basic)
    assert (need.status_code, need.json()["error_code"]) == (401, "otp_required")
    code = totp.totp(totp.key_from_b32(enrolment.secret_b32), int(utcnow().timestamp()))
    ok = await api.post("/oauth/token", data=form, auth=client.basic, headers={"x-otp-code": code})
    assert ok.status_code == 200, ok.text
    replay = await api.post(
        "/oauth/token", data=form, auth=client.basic, headers={"x-otp-code": code}
    )
    assert replay.status_code == 401  # a TOTP code is accepted once

    # The replayed code was the first failure; four wrong passwords make five: locked.
    wrong = {**form, "password": "not-the-password"}
    statuses = [
        (await api.post("/oauth/token", data=wrong, auth=client.basic)).status_code
        for _ in range(5)
    ]
    assert statuses == [401, 401, 401, 401, 429]
    locked = await api.post(
        "/oauth/token", data=form, auth=client.basic, headers={"x-otp-code": code}
    )
    assert locked.status_code == 429 and locked.json()["error_code"] == "too_many_attempts"
    assert int(locked.headers["retry-after"]) > 0


async def test_suspending_a_client_makes_its_tokens_inactive_at_once(
    api: AsyncTestClient[Litestar],
    make_client: Any,
    authority: Authority,
) -> None:
    from services.clients import set_status  # noqa: PLC0415

    client = await make_client(scopes=("read", "keyledger:introspect"))
    other = await make_client()
    token = (
        await api.post("/oauth/token", data={"grant_type": "client_credentials"}, auth=other.basic)
    ).json()["access_token"]
    assert (await api.post("/oauth/introspect", data={"token": token}, auth=client.basic)).json()[
        "active"
    ]
    assert await set_status(
        authority.store, other.client_id, "suspend", "test", Metadata(actor="admin")
    )
    assert (
        await api.post("/oauth/introspect", data={"token": token}, auth=client.basic)
    ).json() == {"active": False}

    # A process may use a client record it read for up to CLIENT_TTL_S; then issuing stops.
    async def refused() -> bool:
        answer = await api.post(
            "/oauth/token", data={"grant_type": "client_credentials"}, auth=other.basic
        )
        return bool(answer.status_code == 401 and answer.json()["error"] == "invalid_client")

    await wait_for(refused, timeout=CLIENT_TTL_S + 1)


async def test_password_grant_refuses_an_expired_password_and_a_disabled_user(
    api: AsyncTestClient[Litestar], make_client: Any, authority: Authority
) -> None:
    from datetime import timedelta  # noqa: PLC0415

    from services.users import disable_user  # noqa: PLC0415

    client = await make_client(grant_types=("password",), scopes=("read",))
    await create_user(
        authority.store, "svc-expired", "expired-pass-1", Metadata(), password_ttl=timedelta(0)
    )
    expired = await api.post(
        "/oauth/token",
        data={"grant_type": "password", "username": "svc-expired", "password": "expired-pass-1"},
        auth=client.basic,
    )
    assert (expired.status_code, expired.json()["error_code"]) == (401, "password_expired")

    user_id = await create_user(authority.store, "svc-disabled", "disabled-pass-1", Metadata())
    assert await disable_user(authority.store, user_id, "left", Metadata(actor="admin"))
    disabled = await api.post(
        "/oauth/token",
        data={"grant_type": "password", "username": "svc-disabled", "password": "disabled-pass-1"},
        auth=client.basic,
    )
    assert (disabled.status_code, disabled.json()["error_code"]) == (401, "invalid_credentials")


async def test_userinfo_refuses_a_missing_token_and_a_token_without_a_user(
    api: Any, make_client: Any
) -> None:
    missing = await api.get("/oauth/userinfo")
    assert (missing.status_code, missing.json()["error"]) == (401, "invalid_token")
    client = await make_client(scopes=("openid", "read"))
    issued = await api.post(
        "/oauth/token", data={"grant_type": "client_credentials", "scope": "openid"},
        auth=client.basic,
    )  # fmt: skip
    headers = {"Authorization": f"Bearer {issued.json()['access_token']}"}
    no_user = await api.get("/oauth/userinfo", headers=headers)
    assert (no_user.status_code, no_user.json()["error"]) == (401, "invalid_token")
