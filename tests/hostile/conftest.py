"""A served keyledger on a database of its own, and a credential for each security scheme.

The contract fuzzing drives the management API with an administrator's token (it rotates
signing keys, creates clients and users), so it gets its own database and stream rather
than the suite's shared ones.
"""

from __future__ import annotations

import base64
import contextlib
import os
import sys
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass

import asyncpg
import httpx
import msgspec
import nats.js.errors
import pytest

from infra.config import Settings
from infra.nats_bus import EventBus
from schemas.envelope import Metadata
from services.authority import open_authority
from services.clients import ClientRegistration, register_client
from services.users import create_user
from tests.conftest import create_database, drop_database

# The in-process app and its helpers, as the end-to-end tests have them.
from tests.e2e.conftest import (  # noqa: F401
    api,
    app,
    authority,
    browsers,
    free_port,
    make_client,
    running,
    server_log_path,
)

PASSWORD = "hostile input pass 1"
ADMIN_SCOPES = ("keyledger:admin", "audit:read", "keyledger:introspect")
USER_SCOPES = ("openid", "profile", "workspaces", "connections")


@dataclass(frozen=True)
class Credentials:
    """HTTP headers that satisfy each security scheme of the OpenAPI document."""

    client_basic: tuple[str, str]
    admin_token: str
    user_token: str
    api_key: str
    workspace_id: str

    def for_requirement(self, requirement: dict[str, list[str]]) -> dict[str, str]:
        """Headers satisfying one security requirement object (`{}`: none needed)."""
        if "client_basic" in requirement:
            pair = base64.b64encode(":".join(self.client_basic).encode()).decode()
            return {"Authorization": f"Basic {pair}"}
        if "api_key" in requirement:
            return {"Authorization": f"Bearer {self.api_key}", "X-Workspace-Id": self.workspace_id}
        if "access_token" in requirement:
            admin = set(requirement["access_token"]) & set(ADMIN_SCOPES)
            token = self.admin_token if admin else self.user_token
            return {"Authorization": f"Bearer {token}"}
        return {}


@pytest.fixture(scope="session")
async def hostile_settings(postgres_admin_url: str, settings: Settings) -> AsyncIterator[Settings]:
    url = await create_database(postgres_admin_url)
    run = uuid.uuid4().hex[:10]
    own = msgspec.structs.replace(
        settings, database_url=url, nats_stream=f"KLTEST_{run}", subject_prefix=f"kltest_{run}"
    )
    yield own
    await drop_database(postgres_admin_url, url)
    assert own.nats_url is not None
    bus = await EventBus.connect(
        own.nats_url, stream=own.nats_stream, prefix=own.subject_prefix, name="cleanup"
    )
    with contextlib.suppress(nats.js.errors.NotFoundError):
        await bus.delete_stream()
    await bus.close()


@pytest.fixture(scope="session")
def hostile_server(hostile_settings: Settings) -> Iterator[str]:
    """`keyledger serve` on the database of its own."""
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = {
        **os.environ,
        "KEYLEDGER_DATABASE_URL": hostile_settings.database_url or "",
        "KEYLEDGER_NATS_URL": hostile_settings.nats_url or "",
        "KEYLEDGER_NATS_STREAM": hostile_settings.nats_stream,
        "KEYLEDGER_SUBJECT_PREFIX": hostile_settings.subject_prefix,
        "KEYLEDGER_MASTER_KEY": hostile_settings.master_key or "",
        "KEYLEDGER_DATA_DIR": hostile_settings.data_dir,
        "KEYLEDGER_ISSUER": base,
        "KEYLEDGER_LOG_FORMAT": "json",
    }
    command = [sys.executable, "-m", "services.cli", "serve", "--port", str(port), "--workers", "1"]

    def ready() -> bool:
        return httpx.get(f"{base}/readyz", timeout=2).status_code == 200

    log = server_log_path(hostile_settings).with_name("hostile-serve.log")
    with running(command, env, log, ready, "keyledger serve", poll=0.2):
        yield base


@pytest.fixture(scope="session")
async def credentials(hostile_settings: Settings, hostile_server: str) -> Credentials:
    """A client, an administrator's token, a user's token and a workspace API key."""
    assert hostile_settings.database_url is not None
    async with asyncpg.create_pool(hostile_settings.database_url, min_size=1, max_size=4) as pool:
        authority = await open_authority(hostile_settings, pool)
        spec = ClientRegistration(
            name="hostile input",
            grant_types=("client_credentials", "password", "refresh_token"),
            scopes=(*ADMIN_SCOPES, *USER_SCOPES, "read", "write"),
            confidential=True,
        )
        client_id, secret = await register_client(
            authority.store, authority.hasher, spec, Metadata(actor="admin")
        )
        assert secret is not None
        username = f"hostile-{uuid.uuid4().hex[:8]}"
        await create_user(authority.store, username, PASSWORD, Metadata(), service_account=True)
    async with httpx.AsyncClient(base_url=hostile_server) as web:
        admin = await web.post(
            "/oauth/token",
            data={"grant_type": "client_credentials", "scope": " ".join(ADMIN_SCOPES)},
            auth=(client_id, secret),
        )
        user = await web.post(
            "/oauth/token",
            data={"grant_type": "password", "username": username, "password": PASSWORD,
                  "scope": " ".join(USER_SCOPES)},
            auth=(client_id, secret),
        )  # fmt: skip
        user_token = user.json()["access_token"]
        as_user = {"Authorization": f"Bearer {user_token}"}
        workspace = await web.post("/workspaces", json={"name": "hostile"}, headers=as_user)
        workspace_id = workspace.json()["workspace_id"]
        key = await web.post(
            f"/workspaces/{workspace_id}/api-keys",
            json={"name": "fuzz", "scopes": ["audit:read"]},
            headers=as_user,
        )
    return Credentials(
        client_basic=(client_id, secret),
        admin_token=admin.json()["access_token"],
        user_token=user_token,
        api_key=key.json()["key"],
        workspace_id=workspace_id,
    )
