"""The management API through the real app: admin bearer tokens only, RFC-style refusals."""

from __future__ import annotations

import time
import uuid
from typing import Any

import pytest

from domain.policies.totp import key_from_b32, totp

pytestmark = pytest.mark.asyncio


async def _token(api: Any, client: Any, scope: str) -> str:
    issued = await api.post(
        "/oauth/token", data={"grant_type": "client_credentials", "scope": scope}, auth=client.basic
    )
    assert issued.status_code == 200, issued.text
    token: str = issued.json()["access_token"]
    return token


@pytest.fixture
async def admin(api: Any, make_client: Any) -> dict[str, str]:
    client = await make_client(scopes=("keyledger:admin",))
    return {"authorization": f"Bearer {await _token(api, client, 'keyledger:admin')}"}


def _error(response: Any, status: int, code: str) -> None:
    assert response.status_code == status, response.text
    assert response.json()["error"] == code
    assert response.headers["cache-control"] == "no-store"


async def test_admin_creates_a_client_that_can_then_get_tokens(
    api: Any, admin: dict[str, str]
) -> None:
    created = await api.post(
        "/manage/clients",
        json={
            "name": "reports",
            "grant_types": ["client_credentials"],
            "scopes": ["read"],
            "access_token_ttl": 900,
        },
        headers=admin,
    )
    assert created.status_code == 201, created.text
    assert created.headers["cache-control"] == "no-store"
    body = created.json()
    assert set(body) == {"client_id", "client_secret"}

    issued = await api.post(
        "/oauth/token",
        data={"grant_type": "client_credentials", "scope": "read"},
        auth=(body["client_id"], body["client_secret"]),
    )
    assert issued.status_code == 200 and issued.json()["expires_in"] == 900

    listing = await api.get("/manage/clients", headers=admin)
    assert listing.status_code == 200
    assert body["client_id"] in {c["client_id"] for c in listing.json()["clients"]}
    assert body["client_secret"] not in listing.text and "digest" not in listing.text

    one = await api.get(f"/manage/clients/{body['client_id']}", headers=admin)
    assert one.status_code == 200
    assert one.json()["name"] == "reports" and one.json()["status"] == "active"
    assert "digest" not in one.text


async def test_public_client_gets_no_secret_and_invalid_registrations_are_400(
    api: Any, admin: dict[str, str]
) -> None:
    public = await api.post(
        "/manage/clients",
        json={
            "name": "spa",
            "grant_types": ["authorization_code"],
            "scopes": ["openid"],
            "redirect_uris": ["https://app.example/cb"],
            "confidential": False,
        },
        headers=admin,
    )
    assert public.status_code == 201 and set(public.json()) == {"client_id"}

    refused = await api.post(
        "/manage/clients",
        json={
            "name": "spa",
            "grant_types": ["client_credentials"],
            "scopes": [],
            "confidential": False,
        },
        headers=admin,
    )
    _error(refused, 400, "invalid_request")
    typo = await api.post(
        "/manage/clients",
        json={"name": "x", "grant_types": ["client_credentials"], "scopes": [], "scope": "read"},
        headers=admin,
    )
    _error(typo, 400, "invalid_request")
    assert "scope" in typo.json()["error_description"]


async def test_malformed_json_is_400_never_500(api: Any, admin: dict[str, str]) -> None:
    for body in (b"{not json", b"[]", b'{"name": 1}', b""):
        response = await api.post(
            "/manage/clients", content=body, headers={**admin, "content-type": "application/json"}
        )
        _error(response, 400, "invalid_request")
    form = await api.post("/manage/users", data={"username": "x"}, headers=admin)
    _error(form, 400, "invalid_request")

    # PostgreSQL text cannot hold NUL: refused at the edge, not a failed write.
    nul = await api.post(
        "/manage/clients",
        json={
            "name": "x",
            "grant_types": ["client_credentials"],
            "scopes": [],
            "workspace_id": "\0",
        },
        headers=admin,
    )
    _error(nul, 400, "invalid_request")
    _error(await api.get("/manage/clients/a%00b", headers=admin), 404, "not_found")
    _error(await api.post("/manage/users/a%00b/otp", headers=admin), 404, "not_found")


async def test_missing_or_inactive_token_is_401_and_non_admin_token_is_403(
    api: Any, admin: dict[str, str], make_client: Any
) -> None:
    missing = await api.get("/manage/clients")
    _error(missing, 401, "invalid_token")
    assert missing.headers["www-authenticate"].startswith("Bearer")
    forged = await api.get("/manage/clients", headers={"authorization": "Bearer not-a-token"})
    _error(forged, 401, "invalid_token")

    ordinary = await make_client(scopes=("read",))
    token = await _token(api, ordinary, "read")
    forbidden = await api.post(
        "/manage/clients",
        json={"name": "x", "grant_types": ["client_credentials"], "scopes": []},
        headers={"authorization": f"Bearer {token}"},
    )
    _error(forbidden, 403, "insufficient_scope")

    # A revoked admin token stops working at once.
    admin_client = await make_client(scopes=("keyledger:admin",))
    revocable = await _token(api, admin_client, "keyledger:admin")
    headers = {"authorization": f"Bearer {revocable}"}
    assert (await api.get("/manage/clients", headers=headers)).status_code == 200
    await api.post("/oauth/revoke", data={"token": revocable}, auth=admin_client.basic)
    _error(await api.get("/manage/clients", headers=headers), 401, "invalid_token")


async def test_client_lifecycle_refuses_what_does_not_apply(
    api: Any, admin: dict[str, str], make_client: Any
) -> None:
    _error(await api.get(f"/manage/clients/{uuid.uuid4().hex}", headers=admin), 404, "not_found")
    unknown = await api.post(f"/manage/clients/{uuid.uuid4().hex}/suspend", headers=admin)
    _error(unknown, 404, "not_found")

    client = await make_client(scopes=("read",))
    base = f"/manage/clients/{client.client_id}"
    suspended = await api.post(f"{base}/suspend", json={"reason": "audit"}, headers=admin)
    assert suspended.status_code == 200 and suspended.json()["status"] == "suspended"
    _error(await api.post(f"{base}/suspend", headers=admin), 409, "conflict")
    reinstated = await api.post(f"{base}/reinstate", headers=admin)
    assert reinstated.status_code == 200 and reinstated.json()["status"] == "active"

    rotated = await api.post(f"{base}/rotate-secret", json={"overlap_s": 0}, headers=admin)
    assert rotated.status_code == 200, rotated.text
    secret = rotated.json()["client_secret"]
    await _token(api, type(client)(client.client_id, secret), "read")
    stale = await api.post(
        "/oauth/token", data={"grant_type": "client_credentials"}, auth=client.basic
    )
    assert stale.status_code == 401

    banned = await api.post(f"{base}/ban", json={"reason": "abuse"}, headers=admin)
    assert banned.json()["status"] == "banned"
    _error(await api.post(f"{base}/reinstate", headers=admin), 409, "conflict")
    _error(await api.post(f"{base}/rotate-secret", headers=admin), 409, "conflict")


async def test_admin_manages_users_and_rotates_keys(
    api: Any, admin: dict[str, str], make_client: Any
) -> None:
    username = f"grace-{uuid.uuid4().hex[:8]}"
    created = await api.post(
        "/manage/users",
        json={"username": username, "password": "first password", "otp": True},
        headers=admin,
    )
    assert created.status_code == 201, created.text
    user = created.json()
    assert set(user) == {"user_id", "otp_secret", "otp_uri"}
    assert user["otp_uri"].startswith("otpauth://totp/")
    taken = await api.post(
        "/manage/users", json={"username": username, "password": "another one"}, headers=admin
    )
    _error(taken, 409, "conflict")
    short = await api.post(
        "/manage/users", json={"username": f"{username}-2", "password": "short"}, headers=admin
    )
    _error(short, 400, "invalid_request")

    changed = await api.post(
        f"/manage/users/{username}/password", json={"password": "second password"}, headers=admin
    )
    assert changed.json() == {"user_id": user["user_id"], "username": username}
    re_enrolled = await api.post(f"/manage/users/{username}/otp", headers=admin)
    assert re_enrolled.status_code == 200 and re_enrolled.json()["otp_uri"].startswith("otpauth")

    client = await make_client(grant_types=("password",), scopes=("read",))
    code = totp(key_from_b32(re_enrolled.json()["otp_secret"]), int(time.time()))
    signed_in = await api.post(
        "/oauth/token",
        data={"grant_type": "password", "username": username, "password": "second password"},
        headers={"x-otp-code": code},
        auth=client.basic,
    )
    assert signed_in.status_code == 200, signed_in.text

    disabled = await api.post(f"/manage/users/{username}/disable", headers=admin)
    assert disabled.status_code == 200
    _error(await api.post(f"/manage/users/{username}/disable", headers=admin), 409, "conflict")
    # A disabled account may still be erased; then its name is nobody's.
    erased = await api.post(
        f"/manage/users/{username}/erase", json={"reason": "request 7"}, headers=admin
    )
    assert erased.json() == {"user_id": user["user_id"], "erased": True}
    _error(await api.post(f"/manage/users/{username}/erase", headers=admin), 404, "not_found")
    missing = await api.post("/manage/users/nobody-here/password", json={"password": "x" * 9})
    _error(missing, 401, "invalid_token")
    unknown = await api.post(
        "/manage/users/nobody-here/password", json={"password": "x" * 9}, headers=admin
    )
    _error(unknown, 404, "not_found")

    rotated = await api.post("/manage/keys/rotate", headers=admin)
    assert rotated.status_code == 200
    kids = rotated.json()["kids"]
    published = {key["kid"] for key in (await api.get("/.well-known/jwks.json")).json()["keys"]}
    assert len(kids) == 2 and set(kids) <= published
