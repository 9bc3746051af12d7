"""Excessive scope requests leave a trace: a client asking for more than it may hold.

At the authorization endpoint, a scope that needs review is refused and flagged
(`authorization_flagged`, test_authorize_errors.py); at the token endpoint, a scope beyond the
client's registration is refused `invalid_scope` and recorded as a refusal event.
"""

from __future__ import annotations

from typing import Any

import asyncpg
from litestar import Litestar
from litestar.testing import AsyncTestClient

from projections import audit_trail
from services.projector import catch_up
from tests.personal import reader


async def test_a_client_asking_beyond_its_scopes_is_refused_and_the_refusal_recorded(
    api: AsyncTestClient[Litestar], make_client: Any, pool: asyncpg.Pool
) -> None:
    client = await make_client(scopes=("read",))
    form = {"grant_type": "client_credentials", "scope": "read write"}
    answer = await api.post("/oauth/token", data=form, auth=client.basic)
    assert (answer.status_code, answer.json()["error"]) == (400, "invalid_scope")

    await catch_up(pool, audit_trail.PROJECTION, personal=reader(pool))
    async with pool.acquire() as conn:
        rows = await conn.fetch(
            "SELECT action, outcome, reason, resource FROM audit_trail"
            " WHERE client_id = $1 ORDER BY global_position",
            client.client_id,
        )
    assert [tuple(row) for row in rows][-1] == (
        "token_request_refused", "failure", "invalid_scope", "token:client_credentials",
    )  # fmt: skip
