"""A connection whose access token cannot be renewed, seen over its lifetime: healthy, then
expiring within its provider's margin, then expired, over HTTP and from the CLI. The
connection was made before the first test of this directory (conftest.py `expiring`): its
60 s token runs out while the other tests run, and this module comes last."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from services.connections.scheduler import Scheduler
from tests.e2e.connections.harness import Downstream, Expiring, cli, eventually

pytestmark = pytest.mark.asyncio


async def test_a_connection_without_refresh_token_goes_expiring_then_expired(
    down: Downstream, expiring: Expiring
) -> None:
    view = await down.status(expiring.user, expiring.connection_id)
    assert view["has_refresh_token"] is False
    expires_at = datetime.fromisoformat(view["access_expires_at"])
    if datetime.now(UTC) < expires_at:
        # The provider's margin is 50 s: past the first 10 s, it is expiring.
        assert view["status"] == "expiring"

    async def expired() -> bool:
        return await down.status_is(expiring.user, expiring.connection_id, "expired")

    await eventually(expired, timeout=75)
    await Scheduler(down.connector).tick()  # the scheduler records it (and erases the token)

    types = await down.event_types(expiring.connection_id)
    assert types[-1] == "connection_expired"
    assert "upstream_refresh_started" not in types
    held = await down.connector.vault.held(expiring.connection_id)
    assert held.access is None
    code, out, err = await cli(
        down.settings, "connections", "list", "--user", expiring.user.username, "--json"
    )
    assert code == 0, err
    (listed,) = json.loads(out)["connections"]
    assert (listed["connection_id"], listed["status"]) == (expiring.connection_id, "expired")
