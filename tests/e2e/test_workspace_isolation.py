"""Row-level security: under one workspace's setting, a query with no workspace filter at all
still sees only that workspace's rows, in every table that holds workspace data."""

from __future__ import annotations

import uuid
from typing import Any

import asyncpg
import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient

from infra.postgres.isolation import workspace_scope
from projections import audit_trail
from schemas.envelope import Metadata
from services.authority import Authority
from services.projector import catch_up
from services.users import create_user
from services.workspaces import create_api_key, create_workspace
from tests.personal import reader

ISOLATED = ("api_keys", "workspace_members", "workspaces", "token_state", "clients",
            "audit_trail", "consents")  # fmt: skip


async def _populated_workspace(
    api: AsyncTestClient[Litestar], authority: Authority, make_client: Any
) -> str:
    """A workspace with a member, an API key, a client and a token of that client."""
    owner = await create_user(
        authority.store, f"iso-{uuid.uuid4().hex[:8]}", "isolation pass 1", Metadata()
    )
    workspace = await create_workspace(authority, "isolated", owner, Metadata(actor="user"))
    await create_api_key(
        authority, workspace, owner, name="k", scopes=["reviews.read"], days=None,
        metadata=Metadata(actor="user"),
    )  # fmt: skip
    client = await make_client(workspace_id=workspace)
    issued = await api.post(
        "/oauth/token", data={"grant_type": "client_credentials", "scope": "read"},
        auth=client.basic,
    )  # fmt: skip
    assert issued.status_code == 200, issued.text
    return workspace


async def _unfiltered(conn: Any, table: str) -> set[str | None]:
    # Deliberately no WHERE: the bug a policy exists to contain.
    rows = await conn.fetch(f"SELECT workspace_id FROM {table}")
    return {row["workspace_id"] for row in rows}


async def test_an_unfiltered_query_sees_only_its_own_workspace(
    api: AsyncTestClient[Litestar], authority: Authority, make_client: Any, pool: asyncpg.Pool
) -> None:
    first = await _populated_workspace(api, authority, make_client)
    second = await _populated_workspace(api, authority, make_client)
    await catch_up(pool, audit_trail.PROJECTION, personal=reader(pool))
    async with pool.acquire() as conn:
        everywhere = {table: await _unfiltered(conn, table) for table in ISOLATED}
    # The service's own role sees both (it owns the tables): the data is there to leak.
    for table in ISOLATED[:-1]:
        assert {first, second} <= everywhere[table], table

    for workspace in (first, second):
        async with workspace_scope(pool, workspace) as conn:
            for table in ISOLATED:
                seen = await _unfiltered(conn, table)
                assert seen <= {workspace}, table
                if table != "consents":  # none granted here
                    assert seen == {workspace}, table


async def test_without_a_workspace_nothing_is_visible_and_nothing_is_writable(
    api: AsyncTestClient[Litestar], authority: Authority, make_client: Any, pool: asyncpg.Pool
) -> None:
    await _populated_workspace(api, authority, make_client)
    async with pool.acquire() as conn, conn.transaction():
        await conn.execute("SET LOCAL ROLE keyledger_workspace")
        for table in ISOLATED:
            assert await _unfiltered(conn, table) == set(), table
    workspace = await _populated_workspace(api, authority, make_client)
    for statement in (
        "UPDATE api_keys SET revoked_at = NULL",
        "DELETE FROM workspace_members",
        "SELECT count(*) FROM events",  # the raw log is not a workspace's to read
        "SELECT count(*) FROM users",
    ):
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            async with pool.acquire() as conn, conn.transaction():
                await conn.execute("SELECT set_config('role', 'keyledger_workspace', true)")
                await conn.execute(
                    "SELECT set_config('keyledger.workspace_id', $1, true)", workspace
                )
                await conn.execute(statement)
