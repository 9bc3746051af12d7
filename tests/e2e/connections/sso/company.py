"""A company whose people sign in to keyledger through the company's own identity provider.

The provider is the upstream keyledger of this directory (a served process with its own
database and pages); the keyledger they sign in to is served too, on a database of its own,
so that a real browser reaches both. Workspaces, SSO and clients are set up through the
served keyledger's HTTP API, as their administrators would.
"""

from __future__ import annotations

import contextlib
import html
import json
import re
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import asyncpg
import httpx

from domain.policies.pkce import challenge_s256
from infra.config import Settings
from schemas.envelope import Metadata
from schemas.events import decode_event
from services.authority import Authority, open_authority
from services.clients import ClientRegistration, register_client
from services.sso.config import CALLBACK_PATH
from services.users import create_user
from tests.e2e.conftest import free_port, serving
from tests.e2e.connections.harness import PASSWORD, Upstream
from tests.personal import reader

__all__ = ["Company", "Keyledger", "served_keyledger"]

VERIFIER = "sso-verifier-" + "v" * 40


def hidden(page: str, name: str) -> str:
    found = re.search(rf'name="{name}" value="([^"]*)"', page)
    assert found is not None, f"no hidden field {name} in {page[:300]}"
    return html.unescape(found.group(1))


@dataclass
class Company:
    workspace_id: str
    domain: str
    # keyledger's client at the provider (id, secret).
    client: tuple[str, str]

    def email(self, name: str) -> str:
        return f"{name}-{uuid.uuid4().hex[:6]}@{self.domain}"


@dataclass
class Keyledger:
    """The served keyledger people sign in to, administered through its HTTP API."""

    base: str
    settings: Settings
    pool: asyncpg.Pool
    authority: Authority
    upstream: Upstream
    admin: dict[str, str]
    admin_username: str
    # A public client with PKCE: the application people sign in to.
    app_id: str
    app_redirect: str
    _grant_client: tuple[str, str]
    # Everything the served process wrote (JSON, debug level).
    log_path: Path

    async def company(self, *, required: bool = False, trust_email: bool = True) -> Company:
        """A workspace configuring the upstream as its provider, for a domain of its own."""
        domain = f"co-{uuid.uuid4().hex[:8]}.example"
        client_id, secret = await self.upstream_client()
        async with httpx.AsyncClient(base_url=self.base, timeout=20) as web:
            made = await web.post("/workspaces", json={"name": domain}, headers=self.admin)
            assert made.status_code == 201, made.text
            workspace_id = made.json()["workspace_id"]
            body = {"issuer": self.upstream.base, "client_id": client_id, "client_secret": secret,
                    "allowed_domains": [domain], "scopes": ["openid", "profile"],
                    "claims": {"email": "preferred_username", "name": "preferred_username"},
                    "trust_email": trust_email, "required": required}  # fmt: skip
            configured = await web.put(
                f"/workspaces/{workspace_id}/sso", json=body, headers=self.admin
            )
            assert configured.status_code == 200, configured.text
            assert configured.json()["redirect_uri"] == self.base + CALLBACK_PATH
        return Company(workspace_id, domain, (client_id, secret))

    async def upstream_client(self) -> tuple[str, str]:
        spec = ClientRegistration(
            name="keyledger sso", grant_types=("authorization_code",),
            scopes=("openid", "profile"), redirect_uris=(self.base + CALLBACK_PATH,),
            confidential=True,
        )  # fmt: skip
        authority = self.upstream.authority
        client_id, secret = await register_client(
            authority.store, authority.hasher, spec, Metadata(actor="admin")
        )
        assert secret is not None
        return client_id, secret

    async def upstream_person(self, email: str) -> str:
        """An account at the company's provider, its username the person's email."""
        await create_user(self.upstream.authority.store, email, PASSWORD, Metadata(actor="admin"))
        return email

    async def local_user(self, username: str, *, service_account: bool = False) -> str:
        return await create_user(
            self.authority.store, username, PASSWORD, Metadata(actor="admin"),
            service_account=service_account,
        )  # fmt: skip

    async def password_grant(self, username: str) -> httpx.Response:
        async with httpx.AsyncClient(base_url=self.base, timeout=20) as web:
            return await web.post(
                "/oauth/token",
                data={"grant_type": "password", "username": username, "password": PASSWORD,
                      "scope": "read"}, auth=self._grant_client,
            )  # fmt: skip

    def authorize_url(self, *, lang: str = "en", **extra: str) -> str:
        query = {"response_type": "code", "client_id": self.app_id,
                 "redirect_uri": self.app_redirect, "scope": "openid read", "state": "rp-state",
                 "nonce": "rp-nonce", "code_challenge": challenge_s256(VERIFIER),
                 "code_challenge_method": "S256", "lang": lang, **extra}  # fmt: skip
        return f"{self.base}/oauth/authorize?{urlencode(query)}"

    async def exchange(self, code: str) -> dict[str, Any]:
        async with httpx.AsyncClient(base_url=self.base, timeout=20) as web:
            token = await web.post(
                "/oauth/token",
                data={"grant_type": "authorization_code", "code": code,
                      "redirect_uri": self.app_redirect, "client_id": self.app_id,
                      "code_verifier": VERIFIER},
            )  # fmt: skip
        assert token.status_code == 200, token.text
        body: dict[str, Any] = token.json()
        return body

    async def events(self, event_type: str) -> list[asyncpg.Record]:
        async with self.pool.acquire() as conn:
            rows: list[asyncpg.Record] = await conn.fetch(
                "SELECT stream_id, data, metadata FROM events WHERE event_type = $1"
                " ORDER BY global_position", event_type,
            )  # fmt: skip
        return rows

    async def provisioned(self) -> list[dict[str, Any]]:
        """The `sso_user_provisioned` payloads, personal values opened as keyledger reads them
        (the log holds them sealed)."""
        personal, payloads = reader(self.pool), []
        async with self.pool.acquire() as conn:
            for row in await self.events("sso_user_provisioned"):
                data = bytes(row["data"])
                event = decode_event("sso_user_provisioned", 1, data)
                payloads.append(json.loads(data) | await personal.read(conn, event, Metadata()))
        return payloads

    async def refusals(self, reason: str) -> list[dict[str, Any]]:
        """The `login_refused` events of one reason, payload and metadata."""
        found = []
        for row in await self.events("login_refused"):
            data = json.loads(bytes(row["data"]))
            if data["reason"] == reason:
                found.append({**data, "metadata": json.loads(row["metadata"])})
        return found

    async def users_named(self, username: str) -> list[str]:
        async with self.pool.acquire() as conn:
            rows = await conn.fetch("SELECT user_id FROM users WHERE username = $1", username)
        return [row["user_id"] for row in rows]

    async def via_provider(
        self, web: httpx.AsyncClient, email: str, *, person: str | None = None,
        tamper: dict[str, str] | None = None,
    ) -> str:  # fmt: skip
        """Sign in over HTTP as a browser without scripts would: the login page with a work
        email, on to the provider, its login and consent pages as `person` (the same email by
        default); the URL the provider sends the browser back to. `tamper` changes parameters
        of the request to the provider first."""
        login = await web.get(self.authorize_url())
        assert login.status_code == 200, login.text
        form = {"request": hidden(login.text, "request"), "csrf": hidden(login.text, "csrf"),
                "username": email, "sso": "1"}  # fmt: skip
        onward = await web.post(f"{self.base}/oauth/authorize/login", data=form)
        assert onward.status_code == 200, onward.text
        found = re.search(r'id="continue-sso" href="([^"]*)"', onward.text)
        assert found is not None, onward.text
        to_provider = html.unescape(found.group(1))
        if tamper:
            parts = urlsplit(to_provider)
            query = {k: v[0] for k, v in parse_qs(parts.query).items()} | tamper
            to_provider = parts._replace(query=urlencode(query)).geturl()
        return await self.upstream_pages(web, to_provider, person or email)

    async def upstream_pages(self, web: httpx.AsyncClient, url: str, username: str) -> str:
        page = await web.get(url)
        assert page.status_code == 200, page.text
        form = {"request": hidden(page.text, "request"), "csrf": hidden(page.text, "csrf"),
                "username": username, "password": PASSWORD}  # fmt: skip
        answer = await web.post(f"{self.upstream.base}/oauth/authorize/login", data=form)
        if answer.status_code == 200:
            consent = {"request": hidden(answer.text, "request"),
                       "csrf": hidden(answer.text, "csrf"), "decision": "approve"}  # fmt: skip
            answer = await web.post(f"{self.upstream.base}/oauth/authorize/consent", data=consent)
        assert answer.status_code == 303, answer.text
        location: str = answer.headers["location"]
        assert location.startswith(self.base + CALLBACK_PATH), location
        return location


@contextlib.asynccontextmanager
async def served_keyledger(
    settings: Settings, upstream: Upstream, log_dir: Path
) -> AsyncIterator[Keyledger]:
    """`keyledger serve` on `settings` (a database of its own), with an administrator."""
    with serving(settings, log_dir / "serve.log") as base:
        assert settings.database_url is not None
        async with asyncpg.create_pool(settings.database_url, min_size=1, max_size=8) as pool:
            authority = await open_authority(settings, pool)
            spec = ClientRegistration(
                name="scripts", grant_types=("password",), scopes=("workspaces", "read")
            )
            grant_id, grant_secret = await register_client(
                authority.store, authority.hasher, spec, Metadata(actor="admin")
            )
            assert grant_secret is not None
            redirect = f"http://127.0.0.1:{free_port()}/callback"
            app = ClientRegistration(
                name="Expenses", grant_types=("authorization_code",), scopes=("openid", "read"),
                redirect_uris=(redirect,), confidential=False,
            )  # fmt: skip
            app_id, _ = await register_client(
                authority.store, authority.hasher, app, Metadata(actor="admin")
            )
            admin = f"it-admin-{uuid.uuid4().hex[:6]}"
            await create_user(authority.store, admin, PASSWORD, Metadata(actor="admin"))
            async with httpx.AsyncClient(base_url=base, timeout=20) as web:
                issued = await web.post(
                    "/oauth/token",
                    data={"grant_type": "password", "username": admin, "password": PASSWORD,
                          "scope": "workspaces"}, auth=(grant_id, grant_secret),
                )  # fmt: skip
            assert issued.status_code == 200, issued.text
            headers = {"Authorization": f"Bearer {issued.json()['access_token']}"}
            yield Keyledger(
                base, settings, pool, authority, upstream, headers, admin, app_id, redirect,
                (grant_id, grant_secret), log_dir / "serve.log",
            )  # fmt: skip
