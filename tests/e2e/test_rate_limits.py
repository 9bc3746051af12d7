"""Rate limits over HTTP: 429 with Retry-After in each surface's format, one event per trip.

An app with tight limits (a burst of a few requests, then one per 100 s) runs in process; each
test speaks from its own source address, so the limits of one test never touch another's.
The suite's own app keeps the production defaults, which a heavy client must never meet.
"""

from __future__ import annotations

import asyncio
import contextlib
import secrets
import uuid
from collections.abc import AsyncIterator, Callable
from datetime import timedelta
from typing import Any

import asyncpg
import httpx
import msgspec
import pytest
from litestar import Litestar

from infra.config import Settings
from projections import audit_trail
from schemas.envelope import Metadata
from schemas.events import RateLimitExceeded, decode_event
from services.authority import Authority
from services.projector import catch_up
from services.rate_limits import RateLimits
from services.users import create_user
from tests.e2e.authorize_flow import authorize_url, code_client, hidden, login_form, login_page
from tests.e2e.conftest import running_app
from tests.personal import reader

# A burst of this many, then one request per 100 s: nothing refills during a test.
SLOW = 0.01
BURSTS = {"client": 4, "source": 12, "client_auth": 2, "login": 3, "page": 6}
PASSWORD = "correct horse"

Open = Callable[[str], httpx.AsyncClient]


@pytest.fixture(scope="module")
async def limited_app(settings: Settings) -> AsyncIterator[Litestar]:
    limits: dict[str, Any] = {"rate_limit_window_s": 3600}  # no window ends mid-test
    for name, burst in BURSTS.items():
        limits |= {f"rate_limit_{name}_per_s": SLOW, f"rate_limit_{name}_burst": burst}
    async with running_app(msgspec.structs.replace(settings, **limits)) as app:
        yield app


@pytest.fixture
async def connect(limited_app: Litestar) -> AsyncIterator[Open]:
    """HTTP clients of the limited app, each from the source address it is given."""
    async with contextlib.AsyncExitStack() as stack:

        def open_from(address: str) -> httpx.AsyncClient:
            transport = httpx.ASGITransport(app=limited_app, client=(address, 50000))  # type: ignore[arg-type]
            client = httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1:8000")
            stack.push_async_callback(client.aclose)
            return client

        yield open_from


def new_address() -> str:
    return f"2001:db8:7e57::{secrets.token_hex(2)}:{secrets.token_hex(2)}"


async def trips(pool: asyncpg.Pool, key: str, field: str = "ip") -> list[RateLimitExceeded]:
    """The rate_limit_exceeded events whose metadata `field` (ip or client_id) is `key`."""
    async with pool.acquire() as conn:
        rows = await conn.fetch(
            "SELECT event_type, schema_version, data FROM events"
            " WHERE event_type = 'rate_limit_exceeded' AND metadata->>$1 = $2"
            " ORDER BY global_position",
            field,
            key,
        )
    events = [decode_event(r["event_type"], r["schema_version"], r["data"]) for r in rows]
    found = [event for event in events if isinstance(event, RateLimitExceeded)]
    assert len(found) == len(events)
    return found


async def count_events(pool: asyncpg.Pool, event_type: str, address: str) -> int:
    """Events of `event_type` from `address`, read as keyledger reads them: a user's address
    is sealed in the log (schemas/personal_data.py)."""
    personal = reader(pool)
    async with pool.acquire() as conn:
        rows = await conn.fetch(
            "SELECT schema_version, data, metadata::text FROM events WHERE event_type = $1",
            event_type,
        )
        count = 0
        for version, data, metadata in rows:
            event = decode_event(event_type, version, data)
            opened = await personal.read(conn, event, msgspec.json.decode(metadata, type=Metadata))
            count += opened.get("ip", msgspec.json.decode(metadata).get("ip")) == address
    return count


def assert_oauth_429(answer: httpx.Response) -> int:
    assert answer.status_code == 429, answer.text
    assert answer.json()["error"] == "temporarily_unavailable"
    assert answer.json()["error_code"] == "too_many_requests"
    assert answer.headers["cache-control"] == "no-store"
    retry_after = int(answer.headers["retry-after"])
    assert 1 <= retry_after <= 1 / SLOW
    return retry_after


async def test_a_client_over_its_limit_gets_429_and_the_trip_is_one_event(
    connect: Open, make_client: Any, pool: asyncpg.Pool
) -> None:
    client, other = await make_client(), await make_client()
    here, elsewhere = connect(new_address()), connect(new_address())
    form = {"grant_type": "client_credentials", "scope": "read"}

    answers = [
        await here.post("/oauth/token", data=form, auth=client.basic)
        for _ in range(BURSTS["client"])
    ]
    assert [a.status_code for a in answers] == [200] * BURSTS[
        "client"
    ]  # within its limit: never refused
    for _ in range(5):
        assert_oauth_429(await here.post("/oauth/token", data=form, auth=client.basic))
    # The limit is the client's wherever it calls from, and at every client endpoint.
    assert_oauth_429(await elsewhere.post("/oauth/token", data=form, auth=client.basic))
    introspected = await elsewhere.post("/oauth/introspect", data={"token": "x"}, auth=client.basic)
    assert_oauth_429(introspected)
    # Another client from the same address is not held back.
    assert (await here.post("/oauth/token", data=form, auth=other.basic)).status_code == 200

    [trip] = await trips(pool, client.client_id, "client_id")
    assert (trip.limit, trip.per_second, trip.burst) == ("client", SLOW, BURSTS["client"])
    assert (trip.previous_refused, trip.previous_window_started_at) == (0, None)
    await catch_up(pool, audit_trail.PROJECTION, personal=reader(pool))
    async with pool.acquire() as conn:
        rows = await conn.fetch(
            "SELECT outcome, reason, resource FROM audit_trail"
            " WHERE action = 'rate_limit_exceeded' AND client_id = $1",
            client.client_id,
        )
    assert [tuple(row) for row in rows] == [("failure", "too_many_requests", "rate_limit:client")]


async def test_one_address_over_its_limit_gets_429_at_the_client_endpoints(
    connect: Open, make_client: Any, pool: asyncpg.Pool
) -> None:
    # A public client: its id proves nothing, so only the address limits it.
    public = await code_client(make_client)
    address = new_address()
    here, elsewhere = connect(address), connect(new_address())
    form = {"token": "not-a-token", "client_id": public}
    answers = [await here.post("/oauth/revoke", data=form) for _ in range(BURSTS["source"])]
    assert {a.status_code for a in answers} == {200}
    for _ in range(3):
        assert_oauth_429(await here.post("/oauth/revoke", data=form))
    assert (await elsewhere.post("/oauth/revoke", data=form)).status_code == 200
    assert [trip.limit for trip in await trips(pool, address)] == ["source"]


async def test_failed_client_authentications_past_the_limit_are_counted_not_each_logged(
    connect: Open, make_client: Any, pool: asyncpg.Pool
) -> None:
    client = await make_client()
    address = new_address()
    here = connect(address)
    form = {"grant_type": "client_credentials"}
    wrong = (client.client_id, "kls_not-the-secret")
    for _ in range(BURSTS["client_auth"]):
        answer = await here.post("/oauth/token", data=form, auth=wrong)
        assert (answer.status_code, answer.json()["error"]) == (401, "invalid_client")
    for _ in range(4):
        assert_oauth_429(await here.post("/oauth/token", data=form, auth=wrong))
    # Each failure within the limit is an event; past it, only the one trip is.
    assert await count_events(pool, "token_request_refused", address) == BURSTS["client_auth"]
    assert [trip.limit for trip in await trips(pool, address)] == ["client_auth"]
    # A client that knows its secret is not locked out by another's failures at its address.
    assert (await here.post("/oauth/token", data=form, auth=client.basic)).status_code == 200


async def test_the_login_pages_over_the_limit_show_a_429_page_and_try_no_password(
    connect: Open, make_client: Any, authority: Authority, pool: asyncpg.Pool
) -> None:
    client_id = await code_client(make_client)
    username = f"limited-{uuid.uuid4().hex[:8]}"
    await create_user(authority.store, username, PASSWORD, Metadata(actor="admin"))
    address = new_address()
    web = connect(address)
    page = await web.get(authorize_url(client_id, lang="fr"))
    form = {**login_form(page, username, "wrong horse"), "lang": "fr"}
    for _ in range(BURSTS["login"]):
        assert (await web.post("/oauth/authorize/login", data=form)).status_code == 400
    limited = await web.post("/oauth/authorize/login", data={**form, "password": PASSWORD})
    assert limited.status_code == 429
    assert 1 <= int(limited.headers["retry-after"]) <= 1 / SLOW
    assert limited.headers["content-type"].startswith("text/html")
    assert "Trop de requêtes depuis votre réseau" in limited.text
    assert "kl_session" not in limited.headers.get("set-cookie", "")
    # The account page's sign-in counts against the same limit of the address.
    account = await web.get("/account")
    sign_in = {"csrf": hidden(account.text, "csrf"), "lang": "en", "username": username}
    refused = await web.post("/account", data={**sign_in, "password": PASSWORD})
    assert refused.status_code == 429 and "Too many requests" in refused.text
    # No password was tried past the limit: three attempts, one trip.
    assert await count_events(pool, "login_refused", address) == BURSTS["login"]
    assert await count_events(pool, "login_succeeded", address) == 0
    assert [trip.limit for trip in await trips(pool, address)] == ["login"]


async def test_the_password_grant_over_the_login_limit_gets_429_json(
    connect: Open, make_client: Any, authority: Authority, pool: asyncpg.Pool
) -> None:
    client = await make_client(grant_types=("password",), scopes=("read",))
    username = f"script-{uuid.uuid4().hex[:8]}"
    await create_user(authority.store, username, PASSWORD, Metadata(), service_account=True)
    address = new_address()
    here = connect(address)
    form = {"grant_type": "password", "username": username, "password": "wrong horse"}
    for _ in range(BURSTS["login"]):
        answer = await here.post("/oauth/token", data=form, auth=client.basic)
        assert answer.json()["error_code"] == "invalid_credentials"
    right = {**form, "password": PASSWORD}
    assert_oauth_429(await here.post("/oauth/token", data=right, auth=client.basic))
    assert await count_events(pool, "login_refused", address) == BURSTS["login"]
    assert [trip.limit for trip in await trips(pool, address)] == ["login"]


async def test_the_authorization_page_over_the_limit_shows_a_429_page(
    connect: Open, make_client: Any, pool: asyncpg.Pool
) -> None:
    client_id = await code_client(make_client)
    address = new_address()
    web = connect(address)
    for _ in range(BURSTS["page"]):
        assert (await login_page(web, client_id)).status_code == 200
    for _ in range(3):
        limited = await web.get(authorize_url(client_id))
        assert limited.status_code == 429 and "Too many requests" in limited.text
        assert int(limited.headers["retry-after"]) >= 1
    assert [trip.limit for trip in await trips(pool, address)] == ["page"]


async def test_a_trip_records_its_window_and_the_count_of_the_previous_one(
    authority: Authority, settings: Settings, pool: asyncpg.Pool
) -> None:
    """Through the service with a clock of its own, two workers sharing the limit."""
    clock = [1_000.0]
    limits = RateLimits(
        msgspec.structs.replace(
            settings, workers=2, rate_limit_login_per_s=2.0, rate_limit_login_burst=2
        ),
        authority.group,
        clock=lambda: clock[0],
    )
    address = new_address()
    metadata = Metadata(actor="user", ip=address)

    async def attempt() -> bool:
        refusal = limits.take("login", address)
        if refusal is not None:
            await limits.record("login", refusal, metadata)
        return refusal is None

    # This worker's share: 1 a second, a burst of 1.
    assert [await attempt() for _ in range(6)] == [True] + [False] * 5
    clock[0] += 60.0  # the next window
    assert [await attempt() for _ in range(3)] == [True, False, False]
    first, second = await trips(pool, address)
    assert (first.per_second, first.burst, first.window_s) == (1.0, 1, 60)
    assert (first.previous_refused, second.previous_refused) == (0, 5)
    assert second.previous_window_started_at is not None
    elapsed = second.window_started_at - second.previous_window_started_at
    assert elapsed == timedelta(seconds=60)


async def test_a_heavy_client_under_the_default_limits_is_never_refused(
    app: Litestar, make_client: Any
) -> None:
    """The suite's app has the production defaults: a burst of concurrent requests passes."""
    client = await make_client(scopes=("read",))
    transport = httpx.ASGITransport(app=app, client=("192.0.2.10", 50000))  # type: ignore[arg-type]
    async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1:8000") as web:
        form = {"grant_type": "client_credentials", "scope": "read"}
        issued = await asyncio.gather(
            *(web.post("/oauth/token", data=form, auth=client.basic) for _ in range(200))
        )
        token = issued[0].json()["access_token"]
        introspected = await asyncio.gather(
            *(
                web.post("/oauth/introspect", data={"token": token}, auth=client.basic)
                for _ in range(300)
            )
        )
    assert {answer.status_code for answer in [*issued, *introspected]} == {200}


def test_a_limit_of_zero_per_second_is_off(settings: Settings) -> None:
    off = msgspec.structs.replace(settings, rate_limit_login_per_s=0.0)
    limits = RateLimits(off, group=None)  # type: ignore[arg-type]  # nothing is refused
    assert all(limits.take("login", "192.0.2.20") is None for _ in range(1_000))
    assert any(limits.take("page", "192.0.2.20") is not None for _ in range(1_000))
