"""Two keyledgers: an upstream provider served as a process on its own database, and the
connector (the app in process, a scheduler beside it) whose users connect accounts there.

The upstream is a real `keyledger serve`: one-time rotating refresh tokens, reuse detection
that revokes the family, introspection and revocation. The browser is httpx following the
upstream's login and consent pages, then handing the redirect to the connector's callback.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import html
import os
import re
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlsplit

import asyncpg
import httpx
from litestar import Litestar

from infra.config import Settings
from infra.crypto.secret import Secret
from infra.postgres.event_store import EventStore
from projections import INLINE_BULK, inline_statements
from schemas.envelope import Metadata
from services.authority import Authority, open_authority
from services.clients import ClientRegistration, register_client
from services.connections.connector import CALLBACK_PATH, Connector, open_connector
from services.connections.scheduler import Scheduler
from services.users import create_user
from tests.e2e.conftest import running_app

__all__ = [
    "CONNECTOR_BASE",
    "UPSTREAM_MASTER_KEY",
    "Downstream",
    "Expiring",
    "Upstream",
    "User",
    "cli",
    "eventually",
]

PASSWORD = "connection pass 1"
# The connector's issuer (settings.issuer unset): where the upstream sends browsers back.
CONNECTOR_BASE = "http://127.0.0.1:8000"
UPSTREAM_MASTER_KEY = base64.b64encode(b"the upstream keyledger's own key").decode()


def _hidden(page: str, name: str) -> str:
    found = re.search(rf'name="{name}" value="([^"]*)"', page)
    assert found is not None, f"no hidden field {name} in {page[:300]}"
    return html.unescape(found.group(1))


@dataclass
class Upstream:
    """The provider: a served keyledger, administered through its own database."""

    base: str
    settings: Settings
    pool: asyncpg.Pool
    authority: Authority

    async def connector_client(self, *, refresh: bool = True, access_ttl: int = 60) -> Any:
        """keyledger-the-connector's confidential client at the provider."""
        grants = ("authorization_code", "refresh_token") if refresh else ("authorization_code",)
        spec = ClientRegistration(
            name="connector", grant_types=grants, scopes=("openid", "profile", "read"),
            redirect_uris=(CONNECTOR_BASE + CALLBACK_PATH,), confidential=True,
            access_token_ttl=access_ttl,
        )  # fmt: skip
        return await register_client(
            self.authority.store, self.authority.hasher, spec, Metadata(actor="admin")
        )

    async def user(self) -> str:
        username = f"up-{uuid.uuid4().hex[:10]}"
        await create_user(self.authority.store, username, PASSWORD, Metadata(actor="admin"))
        return username

    async def count(self, event_type: str) -> int:
        async with self.pool.acquire() as conn:
            found: int = await conn.fetchval(
                "SELECT count(*) FROM events WHERE event_type = $1", event_type
            )
        return found

    async def introspect(self, client: tuple[str, str | None], token: Secret) -> bool:
        client_id, secret = client
        assert secret is not None
        async with httpx.AsyncClient(base_url=self.base, timeout=10) as http:
            answer = await http.post(
                "/oauth/introspect", data={"token": token.reveal()}, auth=(client_id, secret)
            )
        assert answer.status_code == 200, answer.text
        active: bool = answer.json()["active"]
        return active

    async def revoke(self, client: tuple[str, str | None], token: Secret) -> None:
        """RFC 7009 at the provider, as keyledger's client there."""
        client_id, secret = client
        assert secret is not None
        async with httpx.AsyncClient(base_url=self.base, timeout=10) as http:
            answer = await http.post(
                "/oauth/revoke", data={"token": token.reveal()}, auth=(client_id, secret)
            )
        assert answer.status_code == 200, answer.text

    async def authorize(self, authorization_url: str, username: str) -> str:
        """Sign in and consent on the provider's own pages; the callback URL it redirects to."""
        async with httpx.AsyncClient(timeout=10) as browser:
            page = await browser.get(authorization_url)
            assert page.status_code == 200, page.text
            form = {"request": _hidden(page.text, "request"), "csrf": _hidden(page.text, "csrf"),
                    "username": username, "password": PASSWORD}  # fmt: skip
            answer = await browser.post(f"{self.base}/oauth/authorize/login", data=form)
            if answer.status_code == 200:  # the consent page
                consent = {"request": _hidden(answer.text, "request"),
                           "csrf": _hidden(answer.text, "csrf"), "decision": "approve"}  # fmt: skip
                answer = await browser.post(f"{self.base}/oauth/authorize/consent", data=consent)
            assert answer.status_code == 303, answer.text
            location: str = answer.headers["location"]
            assert location.startswith(CONNECTOR_BASE + CALLBACK_PATH), location
            return location


@dataclass
class User:
    user_id: str
    username: str
    headers: dict[str, str]


@dataclass(frozen=True)
class Expiring:
    user: User
    connection_id: str


@dataclass
class Downstream:
    """The connector: its app in process (ASGI), its database, its own vault and scheduler."""

    settings: Settings
    app: Litestar
    http: httpx.AsyncClient
    pool: asyncpg.Pool
    authority: Authority
    connector: Connector
    admin: dict[str, str] = field(default_factory=dict)
    _password_client: tuple[str, str] | None = None

    async def user(self, scope: str = "connections") -> User:
        if self._password_client is None:
            spec = ClientRegistration(
                name="app", grant_types=("password",), scopes=("connections", "workspaces"),
            )  # fmt: skip
            client_id, secret = await register_client(
                self.authority.store, self.authority.hasher, spec, Metadata(actor="admin")
            )
            assert secret is not None
            self._password_client = (client_id, secret)
        username = f"down-{uuid.uuid4().hex[:10]}"
        user_id = await create_user(
            self.authority.store, username, PASSWORD, Metadata(actor="admin")
        )
        issued = await self.http.post(
            "/oauth/token",
            data={"grant_type": "password", "username": username, "password": PASSWORD,
                  "scope": scope},
            auth=self._password_client,
        )  # fmt: skip
        assert issued.status_code == 200, issued.text
        headers = {"Authorization": f"Bearer {issued.json()['access_token']}"}
        return User(user_id, username, headers)

    async def admin_headers(self) -> dict[str, str]:
        """An operator's `keyledger:admin` token for the management API."""
        if not self.admin:
            spec = ClientRegistration(
                name="ops", grant_types=("client_credentials",), scopes=("keyledger:admin",)
            )
            admin_id, admin_secret = await register_client(
                self.authority.store, self.authority.hasher, spec, Metadata(actor="admin")
            )
            assert admin_secret is not None
            issued = await self.http.post(
                "/oauth/token", data={"grant_type": "client_credentials",
                                      "scope": "keyledger:admin"}, auth=(admin_id, admin_secret),
            )  # fmt: skip
            self.admin = {"Authorization": f"Bearer {issued.json()['access_token']}"}
        return self.admin

    async def register_provider(self, upstream: Upstream, client: Any, **policy: Any) -> str:
        """The provider, by discovery, through the management API."""
        headers = await self.admin_headers()
        name = f"upstream-{uuid.uuid4().hex[:8]}"
        client_id, secret = client
        body = {"name": name, "issuer": upstream.base, "client_id": client_id,
                "client_secret": secret, "scopes": ["openid", "profile", "read"],
                "refresh_margin_s": 30, **policy}  # fmt: skip
        registered = await self.http.post("/manage/providers", json=body, headers=headers)
        assert registered.status_code == 201, registered.text
        return name

    async def connect(
        self, user: User, provider: str, upstream: Upstream, upstream_user: str,
        workspace_id: str | None = None,
    ) -> str:  # fmt: skip
        body: dict[str, Any] = {"provider": provider}
        if workspace_id is not None:
            body["workspace_id"] = workspace_id
        started = await self.http.post("/connections", json=body, headers=user.headers)
        assert started.status_code == 201, started.text
        location = await upstream.authorize(started.json()["authorization_url"], upstream_user)
        parts = urlsplit(location)
        done = await self.http.get(f"{parts.path}?{parts.query}")
        assert done.status_code == 200, done.text
        assert done.json()["status"] == "healthy", done.text
        connection_id: str = done.json()["connection_id"]
        assert connection_id == started.json()["connection_id"]
        return connection_id

    async def status(self, user: User, connection_id: str) -> dict[str, Any]:
        seen = await self.http.get(f"/connections/{connection_id}", headers=user.headers)
        assert seen.status_code == 200, seen.text
        view: dict[str, Any] = seen.json()
        return view

    async def status_is(self, user: User, connection_id: str, status: str) -> bool:
        return bool((await self.status(user, connection_id))["status"] == status)

    async def refreshes(self, user: User, connection_id: str) -> int:
        return int((await self.status(user, connection_id))["refresh_count"])

    async def event_types(self, connection_id: str) -> list[str]:
        async with self.pool.acquire() as conn:
            rows = await conn.fetch(
                "SELECT event_type FROM events WHERE stream_id = $1 ORDER BY stream_version",
                f"connection-{connection_id}",
            )
        return [row["event_type"] for row in rows]


def state_of(authorization_url: str) -> str:
    return parse_qs(urlsplit(authorization_url).query)["state"][0]


@contextlib.asynccontextmanager
async def downstream(settings: Settings) -> AsyncIterator[Downstream]:
    async with contextlib.AsyncExitStack() as stack:
        app = await stack.enter_async_context(running_app(settings))
        transport = httpx.ASGITransport(app=app, client=("203.0.113.7", 50000))  # type: ignore[arg-type]
        http = await stack.enter_async_context(
            httpx.AsyncClient(transport=transport, base_url=CONNECTOR_BASE)
        )
        assert settings.database_url is not None
        pool = await stack.enter_async_context(
            asyncpg.create_pool(settings.database_url, min_size=2, max_size=20)
        )
        authority = await open_authority(settings, pool)
        store = EventStore(pool, inline=inline_statements, bulk=INLINE_BULK)
        connector = open_connector(settings, pool, store)
        stack.push_async_callback(connector.close)
        yield Downstream(settings, app, http, pool, authority, connector)


@contextlib.asynccontextmanager
async def scheduling(downstream: Downstream, name: str = "scheduler") -> AsyncIterator[Scheduler]:
    """A scheduler on the connector's database, in this event loop, until the block ends."""
    scheduler = Scheduler(downstream.connector, name=name)
    task = asyncio.create_task(scheduler.run())
    try:
        yield scheduler
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def cli(settings: Settings, *args: str, stdin: str = "") -> tuple[int, str, str]:
    """`keyledger <args>` as an operator runs it beside the service: its database and key."""
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("KEYLEDGER_")},
        "KEYLEDGER_DATABASE_URL": settings.database_url or "",
        "KEYLEDGER_MASTER_KEY": settings.master_key or "",
        "KEYLEDGER_DATA_DIR": settings.data_dir,
    }
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "services.cli", *args, env=env, stdin=subprocess.PIPE,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )  # fmt: skip
    out, err = await process.communicate(stdin.encode())
    assert process.returncode is not None
    return process.returncode, out.decode(), err.decode()


async def eventually(predicate: Callable[[], Awaitable[bool]], timeout: float = 20.0) -> None:
    """Wait until `predicate()` holds (the scheduler acts at its own pace)."""
    deadline = time.monotonic() + timeout
    while not await predicate():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.1)
