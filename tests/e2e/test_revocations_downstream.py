"""Revocations reach resource servers: what keyledger revokes stops working downstream.

Everything real: `keyledger serve` (its relay publishes), the suite's NATS, a separate
downstream process (tests/downstream/service.py) and the helper in this process.
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
import sys
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from litestar.testing import AsyncTestClient

from infra.config import Settings
from infra.resource_server.access_tokens import (
    AccessTokens,
    InvalidToken,
    ResourceServerSettings,
)
from schemas.envelope import Metadata
from services import tokens
from services.authority import Authority
from services.users import create_user
from tests.downstream.service import create_app
from tests.e2e.authorize_flow import (
    REDIRECT,
    Browsers,
    exchange_code,
    hidden,
    login_form,
    login_page,
    redirected,
    refresh_token,
)
from tests.e2e.conftest import Client, free_port, running

READY_S = 60.0


def claims_of(token: str) -> dict[str, Any]:
    payload = token.split(".")[1]
    decoded: dict[str, Any] = json.loads(
        base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))
    )
    return decoded


@pytest.fixture(scope="module")
def downstream(settings: Settings, live_server: str) -> Iterator[str]:
    """The example billing API as its own process, following the suite's stream."""
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = {
        **os.environ,
        "KEYLEDGER_ISSUER": live_server,
        "KEYLEDGER_NATS_URL": settings.nats_url or "",
        "KEYLEDGER_NATS_STREAM": settings.nats_stream,
        "KEYLEDGER_SUBJECT_PREFIX": settings.subject_prefix,
        "DOWNSTREAM_CONSUMER": f"billing-{uuid.uuid4().hex[:8]}",
    }
    command = [sys.executable, "-m", "tests.downstream.service", "--port", str(port)]

    def ready() -> bool:
        return bool(httpx.get(f"{base}/healthz", timeout=2).json()["ready"])

    log = Path(settings.data_dir) / "downstream.log"
    with running(command, env, log, ready, "the downstream service", timeout=READY_S):
        yield base


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(timeout=10) as client:
        yield client


async def _client_token(http: httpx.AsyncClient, base: str, client: Client, scope: str) -> str:
    answer = await http.post(
        f"{base}/oauth/token",
        data={"grant_type": "client_credentials", "scope": scope},
        auth=client.basic,
    )
    assert answer.status_code == 200, answer.text
    token: str = answer.json()["access_token"]
    return token


async def _refused_within(
    http: httpx.AsyncClient, url: str, token: str, started: float, limit_s: float = 5.0
) -> tuple[httpx.Response, float]:
    """Call until refused; returns the refusal and the milliseconds since `started`."""
    while True:
        answer = await http.get(url, headers={"Authorization": f"Bearer {token}"})
        if answer.status_code != 200:
            return answer, (time.perf_counter() - started) * 1000
        assert time.perf_counter() - started < limit_s, "still accepted"


async def test_a_downstream_process_refuses_a_token_once_it_is_revoked_over_http(
    http: httpx.AsyncClient,
    live_server: str,
    downstream: str,
    make_client: Any,
    record_property: Any,
) -> None:
    client = await make_client(scopes=("read",))
    token = await _client_token(http, live_server, client, "read")
    bearer = {"Authorization": f"Bearer {token}"}
    accepted = await http.get(f"{downstream}/invoices", headers=bearer)
    assert accepted.status_code == 200, accepted.text
    assert accepted.json()["client_id"] == client.client_id

    started = time.perf_counter()
    revoked = await http.delete(
        f"{live_server}/oauth/token/{claims_of(token)['jti']}", auth=client.basic
    )
    assert revoked.status_code == 204
    refused, latency_ms = await _refused_within(http, f"{downstream}/invoices", token, started)

    record_property("revoke_request_to_downstream_refusal_ms", round(latency_ms, 2))
    print(f"revoke request to downstream refusal: {latency_ms:.1f} ms")
    assert refused.status_code == 401
    assert refused.headers["www-authenticate"].startswith('Bearer error="invalid_token"')
    assert refused.json() == {
        "error": "invalid_token",
        "error_description": "the access token has been revoked",
    }
    # Another token of the same client still works: one jti was revoked, nothing more.
    other = await _client_token(http, live_server, client, "read")
    answer = await http.get(f"{downstream}/invoices", headers={"Authorization": f"Bearer {other}"})
    assert answer.status_code == 200


OpenHelper = Callable[..., Awaitable[AccessTokens]]


@pytest.fixture
async def open_helper(settings: Settings, live_server: str) -> AsyncIterator[OpenHelper]:
    """The helper in this process: keys from the live server's JWKS, the suite's stream."""
    opened: list[AccessTokens] = []

    async def open_(issuer: str, consumer: str | None = None) -> AccessTokens:
        assert settings.nats_url is not None
        helper = await AccessTokens.open(
            ResourceServerSettings(
                issuer=issuer,
                jwks_url=f"{live_server}/.well-known/jwks.json",
                nats_url=settings.nats_url,
                nats_stream=settings.nats_stream,
                subject_prefix=settings.subject_prefix,
                consumer=consumer or f"test-{uuid.uuid4().hex[:8]}",
            )
        )
        opened.append(helper)
        return helper

    yield open_
    for helper in opened:
        await helper.close()


async def _refused(helper: AccessTokens, token: str) -> bool:
    try:
        await helper.validate(token)
    except InvalidToken as refused:
        assert str(refused) == "the access token has been revoked"
        return True
    return False


async def _wait_all_refused(helper: AccessTokens, issued: list[str], timeout: float = 10.0) -> int:
    """How many of `issued` the helper refuses once it refuses them all, or at the timeout."""
    deadline = time.monotonic() + timeout
    while True:
        refused = [await _refused(helper, token) for token in issued]
        if all(refused) or time.monotonic() > deadline:
            return sum(refused)
        await asyncio.sleep(0.05)


async def test_a_user_disconnecting_a_client_ends_its_tokens_downstream_and_its_refreshes(
    browsers: Browsers, make_client: Any, authority: Authority, open_helper: OpenHelper
) -> None:
    client = await make_client(
        grant_types=("authorization_code", "refresh_token"),
        scopes=("openid", "read"),
        redirect_uris=(REDIRECT,),
        confidential=False,
        workspace_id="acme",
    )
    username = f"disconnect-{uuid.uuid4().hex[:8]}"
    user_id = await create_user(authority.store, username, "correct horse", Metadata(actor="admin"))
    web = browsers()
    page = await login_page(web, client.client_id)
    consent = await web.post(
        "/oauth/authorize/login", data=login_form(page, username, "correct horse")
    )
    approve = {
        "request": hidden(consent.text, "request"),
        "csrf": hidden(consent.text, "csrf"),
        "decision": "approve",
    }
    code = redirected(await web.post("/oauth/authorize/consent", data=approve))["code"]
    issued = (await exchange_code(web, client.client_id, code)).json()
    access, bearer = issued["access_token"], {"Authorization": f"Bearer {issued['access_token']}"}
    assert claims_of(access)["sub"] == user_id
    # The in-process app's tokens name its own issuer: the helper here is set up for it.
    helper = await open_helper(authority.issuer)
    assert (await helper.validate(access)).claims.user_id == user_id

    other = await make_client(scopes=("read",))
    foreign = await web.delete(f"/oauth/consents/{other.client_id}", headers=bearer)
    assert (foreign.status_code, foreign.json()["error"]) == (403, "access_denied")
    anonymous = await web.delete(f"/oauth/consents/{client.client_id}")
    assert (anonymous.status_code, anonymous.json()["error"]) == (401, "invalid_token")

    withdrawn = await web.delete(f"/oauth/consents/{client.client_id}", headers=bearer)
    assert withdrawn.status_code == 204, withdrawn.text
    assert await _wait_all_refused(helper, [access]) == 1
    # The token used went with the consent, and so did its refresh token.
    again = await web.delete(f"/oauth/consents/{client.client_id}", headers=bearer)
    assert again.status_code == 401
    refreshed = await refresh_token(web, client.client_id, issued["refresh_token"])
    assert (refreshed.status_code, refreshed.json()["error"]) == (400, "invalid_grant")
    # The withdrawal's audit row carries the client's workspace, though the user named none.
    async with authority.pool.acquire() as conn:
        workspace = await conn.fetchval(
            "SELECT metadata->>'workspace_id' FROM events WHERE event_type = 'consent_withdrawn'"
            " AND stream_id LIKE $1",
            f"consent-{user_id}.%",
        )
    assert workspace == "acme"


async def test_a_helper_restarted_while_revocations_happen_knows_every_one_after(
    http: httpx.AsyncClient, live_server: str, make_client: Any, open_helper: OpenHelper
) -> None:
    client = await make_client(scopes=("read",))
    issued = list(
        await asyncio.gather(
            *(_client_token(http, live_server, client, "read") for _ in range(120))
        )
    )
    consumer = f"restarting-{uuid.uuid4().hex[:8]}"
    first = await open_helper(live_server, consumer)
    assert not any([await _refused(first, token) for token in issued])

    async def revoke_all() -> None:
        for token in issued:
            jti = claims_of(token)["jti"]
            answer = await http.delete(f"{live_server}/oauth/token/{jti}", auth=client.basic)
            assert answer.status_code == 204

    revoking = asyncio.create_task(revoke_all())
    await asyncio.sleep(0.15)
    await first.close()  # down while revocations go on...
    await asyncio.sleep(0.3)
    second = await open_helper(live_server, consumer)  # ...and back, same consumer
    await revoking
    assert await _wait_all_refused(second, issued) == len(issued)
    # Each held once, whatever was delivered twice.
    jtis = {claims_of(token)["jti"] for token in issued}
    assert second.revocations.applied >= len(jtis)
    assert len(second.revocations) == second.revocations.applied


async def test_a_client_suspended_with_10000_live_tokens_is_one_event_and_all_are_refused(
    http: httpx.AsyncClient,
    live_server: str,
    make_client: Any,
    authority: Authority,
    open_helper: OpenHelper,
) -> None:
    pool = authority.pool
    client = await make_client(scopes=("read",))
    admin = await make_client(scopes=("keyledger:admin",))
    record = await authority.clients.get(client.client_id)
    assert record is not None
    grant = tokens.Grant(client=record, grant_type="client_credentials", scopes=("read",))
    issued: list[str] = []
    for _ in range(10):  # group-committed, 1,000 at a time
        responses = await asyncio.gather(
            *(tokens.issue(authority, grant, Metadata(actor="client")) for _ in range(1000))
        )
        issued += [response.access_token for response in responses]
    helper = await open_helper(authority.issuer)
    assert not any([await _refused(helper, token) for token in issued])

    async with pool.acquire() as conn:
        before = await conn.fetchval("SELECT max(global_position) FROM events")
    admin_token = await _client_token(http, live_server, admin, "keyledger:admin")
    suspended = await http.post(
        f"{live_server}/manage/clients/{client.client_id}/suspend",
        headers={"Authorization": f"Bearer {admin_token}"},
    )
    assert suspended.status_code == 200, suspended.text
    assert await _wait_all_refused(helper, issued) == 10_000

    async with pool.acquire() as conn:
        about_client = await conn.fetch(
            """SELECT event_id, event_type FROM events WHERE global_position > $1
               AND (stream_id = $2 OR metadata->>'client_id' = $3)""",
            before, f"client-{client.client_id}", client.client_id,
        )  # fmt: skip
    # One event for 10,000 tokens, and one revocation naming it.
    assert [row["event_type"] for row in about_client] == ["client_suspended"]
    assert helper.revocations.holds(about_client[0]["event_id"])


async def test_the_guard_answers_in_rfc_6750_terms(
    settings: Settings, live_server: str, make_client: Any, authority: Authority
) -> None:
    assert settings.nats_url is not None
    readers = await authority.clients.get((await make_client(scopes=("read",))).client_id)
    writers = await authority.clients.get((await make_client(scopes=("write",))).client_id)
    assert readers is not None and writers is not None
    minted = [
        await tokens.issue(
            authority, tokens.Grant(client=record, grant_type="client_credentials", scopes=scopes),
            Metadata(actor="client"),
        )
        for record, scopes in ((readers, ("read",)), (writers, ("write",)))
    ]  # fmt: skip
    app = create_app(
        ResourceServerSettings(
            issuer=authority.issuer, jwks_url=f"{live_server}/.well-known/jwks.json",
            nats_url=settings.nats_url, nats_stream=settings.nats_stream,
            subject_prefix=settings.subject_prefix, consumer=f"guard-{uuid.uuid4().hex[:8]}",
        )
    )  # fmt: skip
    async with AsyncTestClient(app=app) as downstream:
        assert (await downstream.get("/healthz")).json()["ready"] is True
        anonymous = await downstream.get("/invoices")
        assert anonymous.status_code == 401
        assert anonymous.headers["www-authenticate"].startswith('Bearer error="invalid_token"')
        forged = await downstream.get(
            "/invoices", headers={"Authorization": f"Bearer {minted[0].access_token[:-4]}AAAA"}
        )
        assert (forged.status_code, forged.json()["error"]) == (401, "invalid_token")
        wrong_scope = await downstream.get(
            "/invoices", headers={"Authorization": f"Bearer {minted[1].access_token}"}
        )
        assert wrong_scope.status_code == 403
        assert 'error="insufficient_scope", scope="read"' in wrong_scope.headers["www-authenticate"]
        allowed = await downstream.get(
            "/invoices", headers={"Authorization": f"Bearer {minted[0].access_token}"}
        )
        assert allowed.status_code == 200
        assert allowed.json()["user"] is None  # a client acting as itself
