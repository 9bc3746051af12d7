"""Known attacks on an authorization server, each against the real app, each refused.

Covered elsewhere and not repeated here: code replay revoking what the first exchange
issued (tests/e2e/test_token_grants.py::test_code_exchange_issues_tokens_with_id_token_once),
concurrent refresh-token reuse revoking the family (same file), `plain` and missing PKCE
challenges at the authorization endpoint (tests/e2e/test_authorize_errors.py), a client
secret in the token endpoint's URL (tests/e2e/test_client_credentials.py).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import quote, urlencode

import asyncpg
import httpx
import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient

from domain.policies.pkce import challenge_s256
from infra.crypto.digests import token_digest
from services.api.oauth.params import MAX_BODY
from services.authority import Authority
from tests.e2e.authorize_flow import REDIRECT, authorize_url, code_client
from tests.e2e.test_token_grants import VERIFIER, exchange, issue_code
from tests.hostile.conftest import Credentials

Api = AsyncTestClient[Litestar]
FORM = {"content-type": "application/x-www-form-urlencoded"}
JSON = {"content-type": "application/json"}


def refused(answer: httpx.Response, status: int, code: str) -> None:
    assert answer.status_code == status, (answer.status_code, answer.text)
    body = answer.json()
    assert set(body) == {"error", "error_description", "error_code"}
    assert body["error_code"] == code, body


def no_redirect(page: httpx.Response) -> None:
    assert page.status_code == 400, (page.status_code, page.headers.get("location"))
    assert "location" not in page.headers
    assert page.headers["content-type"].startswith("text/html")


async def _chunks(total: int) -> AsyncIterator[bytes]:
    sent = 0
    while sent < total:
        yield b"a" * min(8192, total - sent)
        sent += 8192


async def test_bodies_over_64_kib_are_refused_with_413_at_every_endpoint_that_reads_one(
    api: Api, hostile_server: str, credentials: Credentials
) -> None:
    too_big = b"scope=" + b"a" * MAX_BODY
    for path in ("/oauth/token", "/oauth/introspect", "/oauth/revoke", "/oauth/authorize",
                 "/oauth/authorize/login", "/oauth/authorize/consent", "/account"):  # fmt: skip
        refused(await api.post(path, content=too_big, headers=FORM), 413, "request_too_large")
    # At the limit the size is no reason to refuse: the missing client is.
    at_limit = b"grant_type=client_credentials&pad=" + b"a" * (MAX_BODY - 34)
    assert len(at_limit) == MAX_BODY
    refused(await api.post("/oauth/token", content=at_limit, headers=FORM), 401, "invalid_client")

    admin = {"Authorization": f"Bearer {credentials.admin_token}", **JSON}
    user = {"Authorization": f"Bearer {credentials.user_token}", **JSON}
    async with httpx.AsyncClient(base_url=hostile_server) as web:
        # Refused before the body is read: a client still sending when the server answers
        # and closes may never read the answer. Then the connection drops, which is a
        # refusal too; anything the client does read must be the 413.
        big_json = b'{"name": "' + b"a" * MAX_BODY + b'"}'
        for path, headers, content in (
            ("/manage/clients", admin, big_json),
            ("/workspaces", user, big_json),
            # Streamed without a length, the body is cut off as it arrives.
            *((path, admin, None) for path in ("/oauth/token", "/oauth/revoke", "/manage/clients")),
        ):
            body = _chunks(MAX_BODY + 8192) if content is None else content
            try:
                answer = await web.post(path, content=body, headers=headers)
            except (httpx.RemoteProtocolError, httpx.ReadError, httpx.WriteError):
                continue
            refused(answer, 413, "request_too_large")


async def test_deeply_nested_json_is_invalid_request(
    api: Api, hostile_server: str, credentials: Credentials, make_client: Any
) -> None:
    client = await make_client()
    arrays = b"[" * 30_000 + b"]" * 30_000
    objects = b'{"a":' * 10_000 + b"1" + b"}" * 10_000
    for body in (arrays, objects, b'{"grant_type": ' + arrays + b"}"):
        for path in ("/oauth/token", "/oauth/introspect", "/oauth/revoke"):
            answer = await api.post(path, content=body, headers=JSON, auth=client.basic)
            refused(answer, 400, "invalid_request")
    async with httpx.AsyncClient(base_url=hostile_server) as web:
        for path, token in (("/manage/clients", credentials.admin_token),
                            ("/workspaces", credentials.user_token)):  # fmt: skip
            headers = {"Authorization": f"Bearer {token}", **JSON}
            refused(await web.post(path, content=objects, headers=headers), 400,
                    "invalid_request")  # fmt: skip


async def test_invalid_utf8_in_forms_json_and_query_strings_is_refused_not_a_500(
    api: Api, hostile_server: str, credentials: Credentials, make_client: Any
) -> None:
    client = await make_client()
    for path in ("/oauth/token", "/oauth/introspect", "/oauth/revoke"):
        form = await api.post(path, content=b"token=\xff\xfe&scope=\xc3\x28", headers=FORM,
                              auth=client.basic)  # fmt: skip
        refused(form, 400, "invalid_request")
        for body in (b'{"grant_type": "client_credentials", "scope": "\xff"}', b'{"\xff": "x"}'):
            answer = await api.post(path, content=body, headers=JSON, auth=client.basic)
            refused(answer, 400, "invalid_request")
    # In a query string the bytes are percent-encoded; decoded, they are not UTF-8.
    page = await api.get("/oauth/authorize?client_id=%ff%fe&redirect_uri=%c3%28")
    assert page.status_code == 400 and "location" not in page.headers
    account = await api.get("/account?lang=%ff&done=%c3%28")
    assert account.status_code == 200
    login = await api.post(
        "/oauth/authorize/login", content=b"request=\xff&csrf=\xfe", headers=FORM
    )
    assert login.status_code == 400 and login.headers["content-type"].startswith("text/html")
    async with httpx.AsyncClient(base_url=hostile_server) as web:
        headers = {"Authorization": f"Bearer {credentials.admin_token}", **JSON}
        body = b'{"name": "\xff", "grant_types": ["client_credentials"], "scopes": ["read"]}'
        refused(await web.post("/manage/clients", content=body, headers=headers), 400,
                "invalid_request")  # fmt: skip
        audit = await web.get(
            "/audit/events?user=%ff%fe", headers={"Authorization": headers["Authorization"]}
        )
        assert audit.status_code in (200, 400), audit.text


async def test_lifetimes_beyond_any_date_are_invalid_request_not_a_500(
    hostile_server: str, credentials: Credentials
) -> None:
    admin = {"Authorization": f"Bearer {credentials.admin_token}"}
    user = {"Authorization": f"Bearer {credentials.user_token}"}
    huge = 10**15
    async with httpx.AsyncClient(base_url=hostile_server) as web:
        workspace = f"/workspaces/{credentials.workspace_id}"
        key = await web.post(f"{workspace}/api-keys", json={"name": "k", "scopes": ["audit:read"]},
                             headers=user)  # fmt: skip
        key_id = key.json()["key_id"]
        client = await web.post(
            "/manage/clients",
            json={"name": "c", "grant_types": ["client_credentials"], "scopes": ["read"]},
            headers=admin,
        )
        client_id = client.json()["client_id"]
        for path, body, headers in (
            (f"{workspace}/api-keys/{key_id}/rotate", {"overlap_seconds": -huge}, user),
            (f"{workspace}/api-keys/{key_id}/rotate", {"overlap_seconds": huge}, user),
            (f"{workspace}/api-keys", {"name": "k", "scopes": ["audit:read"],
                                       "expires_in_days": huge}, user),
            ("/workspaces", {"name": "w", "max_key_days": huge, "default_key_days": huge}, user),
            (f"/manage/clients/{client_id}/rotate-secret", {"overlap_s": huge}, admin),
            ("/manage/users", {"username": "forever", "password": "long enough 1",
                               "password_ttl_days": huge}, admin),
        ):  # fmt: skip
            refused(await web.post(path, json=body, headers=headers), 400, "invalid_request")


async def test_crlf_in_redirect_uri_or_state_never_reaches_a_response_header(
    hostile_server: str, credentials: Credentials, make_client: Any
) -> None:
    client_id = await code_client(make_client)  # registered in the suite's database
    del client_id
    # The served app's database is its own: register the client there over the API.
    admin = {"Authorization": f"Bearer {credentials.admin_token}"}
    async with httpx.AsyncClient(base_url=hostile_server) as web:
        created = await web.post(
            "/manage/clients",
            json={"name": "crlf", "grant_types": ["authorization_code"], "scopes": ["read"],
                  "redirect_uris": [REDIRECT], "confidential": False},
            headers=admin,
        )  # fmt: skip
        client_id = created.json()["client_id"]
        injected = "\r\nSet-Cookie: injected=1\r\nLocation: https://evil.example/"
        page = await web.get(authorize_url(client_id, redirect_uri=REDIRECT + injected))
        no_redirect(page)
        assert "injected" not in page.headers.get("set-cookie", "")
        # A trusted redirect carrying a hostile state: the state is percent-encoded in it.
        answer = await web.get(authorize_url(client_id, state=injected, code_challenge=None,
                                             code_challenge_method=None))  # fmt: skip
        assert answer.status_code == 303
        location = answer.headers["location"]
        assert location.startswith(REDIRECT + "?") and "\r" not in location
        assert "state=%0D%0ASet-Cookie%3A+injected%3D1" in location
        assert "injected" not in answer.headers.get("set-cookie", "")
        assert answer.headers.get_list("location") == [location]


OPEN_REDIRECTS = (
    "https://evil.example/callback",
    "https://app.example/callback/../../evil",
    "https://app.example/callbackx",
    "https://app.example/callback/",
    "https://app.example/callback?next=https://evil.example",
    "https://app.example/callback#https://evil.example",
    "https://app.example@evil.example/callback",
    "https://app.example/callback@evil.example",
    "https://app.example.evil.example/callback",
    "https://app.example:8443/callback",
    "http://app.example/callback",
    "HTTPS://APP.EXAMPLE/callback",
    "https://app.example/CALLBACK",
    "https://app.example/%63allback",
    "https://app.example/callback%2F..%2Fevil",
    "https://app.example/callback%00",
    "https://app.example/callback\x00",
    " https://app.example/callback",
    "//evil.example/callback",
    "javascript:alert(1)//https://app.example/callback",
    "https://evil.example/?r=https://app.example/callback",
)


@pytest.mark.parametrize("redirect_uri", OPEN_REDIRECTS)
async def test_open_redirect_attempt_gets_an_error_page_never_a_redirect(
    api: Api, make_client: Any, redirect_uri: str
) -> None:
    client_id = await code_client(make_client)
    no_redirect(await api.get(authorize_url(client_id, redirect_uri=redirect_uri)))
    query = authorize_url(client_id, redirect_uri=redirect_uri).split("?", 1)[1]
    no_redirect(await api.post("/oauth/authorize", content=query.encode(), headers=FORM))
    # Even with every other parameter wrong as well, the redirect URI is judged first.
    bad = authorize_url(client_id, redirect_uri=redirect_uri, response_type="token",
                        code_challenge_method="plain")  # fmt: skip
    no_redirect(await api.get(bad))


async def _issued_to(pool: asyncpg.Pool, client_id: str) -> int:
    async with pool.acquire() as conn:
        count: int = await conn.fetchval(
            "SELECT count(*) FROM events WHERE event_type = 'access_token_issued'"
            " AND metadata->>'client_id' = $1",
            client_id,
        )
    return count


async def test_client_b_cannot_redeem_client_a_code(
    api: Api, make_client: Any, authority: Authority, pool: asyncpg.Pool
) -> None:
    grants = ("authorization_code", "refresh_token")
    a = await make_client(grant_types=grants, redirect_uris=(REDIRECT,))
    b = await make_client(grant_types=grants, redirect_uris=(REDIRECT,))
    code = await issue_code(authority, a.client_id, "u-mixup", ("read",))
    refused(await api.post("/oauth/token", data=exchange(code), auth=b.basic), 400, "invalid_code")
    # Posting A's id beside B's credentials is no way around it either.
    mixed = await api.post(
        "/oauth/token", data={**exchange(code), "client_id": a.client_id}, auth=b.basic
    )
    refused(mixed, 400, "invalid_request")
    assert await _issued_to(pool, b.client_id) == 0
    # The code stays A's: A redeems it, and B learns nothing of the token.
    tokens = await api.post("/oauth/token", data=exchange(code), auth=a.basic)
    assert tokens.status_code == 200, tokens.text
    seen = await api.post(
        "/oauth/introspect", data={"token": tokens.json()["access_token"]}, auth=b.basic
    )
    assert seen.json() == {"active": False}


async def test_pkce_downgrade_at_the_token_endpoint_is_refused(
    api: Api, make_client: Any, authority: Authority
) -> None:
    client = await make_client(grant_types=("authorization_code",), redirect_uris=(REDIRECT,))
    challenge = challenge_s256(VERIFIER)
    code = await issue_code(authority, client.client_id, "u-pkce-down", ("read",))
    without = {k: v for k, v in exchange(code).items() if k != "code_verifier"}
    refused(await api.post("/oauth/token", data=without, auth=client.basic), 400, "pkce_mismatch")
    # `plain` would send the challenge itself as the verifier.
    as_plain = exchange(code, verifier=challenge)
    refused(await api.post("/oauth/token", data=as_plain, auth=client.basic), 400, "pkce_mismatch")
    # The verifier of S256 is what the code was bound to.
    good = await api.post("/oauth/token", data=exchange(code), auth=client.basic)
    assert good.status_code == 200, good.text


async def test_replayed_refresh_token_is_refused_and_revokes_its_family(
    api: Api, make_client: Any, authority: Authority, pool: asyncpg.Pool
) -> None:
    client = await make_client(
        grant_types=("authorization_code", "refresh_token"), redirect_uris=(REDIRECT,)
    )
    code = await issue_code(authority, client.client_id, "u-replay", ("read",))
    first = (await api.post("/oauth/token", data=exchange(code), auth=client.basic)).json()
    refresh = {"grant_type": "refresh_token", "refresh_token": first["refresh_token"]}
    second = await api.post("/oauth/token", data=refresh, auth=client.basic)
    assert second.status_code == 200
    replay = await api.post("/oauth/token", data=refresh, auth=client.basic)
    refused(replay, 400, "invalid_grant")
    for token in (second.json()["access_token"], second.json()["refresh_token"]):
        seen = await api.post("/oauth/introspect", data={"token": token}, auth=client.basic)
        assert seen.json() == {"active": False}
    async with pool.acquire() as conn:
        family = await conn.fetchval(
            "SELECT family_id FROM token_state WHERE token_digest = $1",
            token_digest(first["refresh_token"]),
        )
        events = await conn.fetch(
            "SELECT event_type FROM events WHERE stream_id = $1 ORDER BY stream_version",
            f"token_family-{family}",
        )
    assert [e["event_type"] for e in events][-2:] == [
        "refresh_token_reuse_detected",
        "token_family_revoked",
    ]


async def test_client_secret_in_the_url_is_refused_at_every_client_endpoint(
    api: Api, make_client: Any
) -> None:
    client = await make_client()
    token = (
        await api.post("/oauth/token", data={"grant_type": "client_credentials"}, auth=client.basic)
    ).json()["access_token"]
    in_url = f"client_id={client.client_id}&client_secret={quote(client.secret or '')}"
    for path, form in (("/oauth/introspect", {"token": token}), ("/oauth/revoke", {"token": token}),
                       ("/oauth/token", {"grant_type": "client_credentials"})):  # fmt: skip
        answer = await api.post(f"{path}?{in_url}", content=urlencode(form), headers=FORM)
        refused(answer, 400, "invalid_request")
        # Refused even beside valid Basic credentials: the secret has leaked into the URL.
        answer = await api.post(f"{path}?{in_url}", data=form, auth=client.basic)
        refused(answer, 400, "invalid_request")
    jti = (await api.post("/oauth/introspect", data={"token": token}, auth=client.basic)).json()
    assert jti["active"] is True  # nothing above revoked it
    by_id = await api.delete(f"/oauth/token/{jti['jti']}?client_secret=x", auth=client.basic)
    refused(by_id, 400, "invalid_request")
    assert (await api.post("/oauth/introspect", data={"token": token}, auth=client.basic)).json()[
        "active"
    ]


async def test_nul_in_ids_and_text_is_refused_not_a_500(
    api: Api, hostile_server: str, credentials: Credentials
) -> None:
    """PostgreSQL text holds no NUL: an id or a text holding one is refused or unknown."""
    page = await api.get("/oauth/authorize?response_type=code&client_id=a%00b&redirect_uri=x")
    no_redirect(page)
    user = {"Authorization": f"Bearer {credentials.user_token}"}
    workspace = f"/workspaces/{credentials.workspace_id}"
    async with httpx.AsyncClient(base_url=hostile_server, headers=user) as web:
        for method, path, body in (
            ("GET", "/workspaces/a%00b/members", None),
            ("POST", f"{workspace}/applications/a%00b/cut-off", None),
            ("POST", "/workspaces", {"name": "a\x00b"}),
            ("POST", f"{workspace}/invitations", {"username": "a\x00b"}),
            ("POST", f"{workspace}/invitations", {"user_id": "a\x00b"}),
            ("POST", f"{workspace}/api-keys", {"name": "a\x00b", "scopes": ["audit:read"]}),
        ):
            refused(await web.request(method, path, json=body), 400, "invalid_request")
