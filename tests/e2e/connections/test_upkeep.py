"""The scheduler keeping upstream tokens fresh at a real upstream keyledger: proactive
refresh without ever reusing a one-time refresh token, revocation found by the health check,
disconnection, and the vault: no token readable in the database, keys rotated."""

from __future__ import annotations

import base64
import json

import pytest

from infra.crypto.secret import Secret
from projections import audit_trail
from services.projector import catch_up
from tests.e2e.connections.harness import Downstream, Upstream, cli, eventually, scheduling
from tests.personal import reader

pytestmark = pytest.mark.asyncio


async def _stored_digests(down: Downstream, connection_id: str) -> dict[str, str]:
    async with down.pool.acquire() as conn:
        rows = await conn.fetch(
            "SELECT kind, token_digest FROM upstream_tokens WHERE connection_id = $1",
            connection_id,
        )
    return {row["kind"]: row["token_digest"] for row in rows}


async def _last_refresh_digest(down: Downstream, connection_id: str) -> str:
    async with down.pool.acquire() as conn:
        data = await conn.fetchval(
            "SELECT data FROM events WHERE stream_id = $1 AND event_type IN"
            " ('connection_established', 'upstream_token_refreshed')"
            " ORDER BY stream_version DESC LIMIT 1", f"connection-{connection_id}",
        )  # fmt: skip
    digest: str = json.loads(data)["refresh_token_digest"]
    return digest


async def test_the_scheduler_refreshes_before_expiry_and_never_presents_a_refresh_token_twice(
    down: Downstream, upstream: Upstream
) -> None:
    client = await upstream.connector_client()
    # 60 s access tokens refreshed 58 s before they expire: every 2 s.
    provider = await down.register_provider(upstream, client, refresh_margin_s=58)
    user = await down.user()
    connection_id = await down.connect(user, provider, upstream, await upstream.user())
    first = await down.connector.vault.held(connection_id)
    rotated_before = await upstream.count("refresh_token_rotated")

    async def refreshed_twice() -> bool:
        return await down.refreshes(user, connection_id) >= 2

    async with scheduling(down):
        await eventually(refreshed_twice)
    await down.http.delete(f"/connections/{connection_id}", headers=user.headers)  # quiet now

    view = await down.status(user, connection_id)
    assert view["last_error"] is None and view["consecutive_failures"] == 0
    assert await upstream.count("refresh_token_reuse_detected") == 0
    assert await upstream.count("token_family_revoked") >= 1  # the disconnection, nothing else
    assert await upstream.count("refresh_token_rotated") - rotated_before >= 2
    assert first.refresh is not None and not await upstream.introspect(client, first.refresh)
    types = await down.event_types(connection_id)
    assert types[:4] == [
        "connection_started", "connection_established", "upstream_refresh_started",
        "upstream_token_refreshed",
    ]  # fmt: skip
    assert "upstream_refresh_failed" not in types


async def test_the_stored_tokens_are_the_ones_the_log_names_and_work_upstream(
    down: Downstream, upstream: Upstream
) -> None:
    client = await upstream.connector_client()
    provider = await down.register_provider(upstream, client, refresh_margin_s=58)
    user = await down.user()
    connection_id = await down.connect(user, provider, upstream, await upstream.user())

    async def refreshed() -> bool:
        return await down.refreshes(user, connection_id) >= 1

    async with scheduling(down):
        await eventually(refreshed)
    # The scheduler has stopped: what is stored now is what the log names last, and it works.
    held = await down.connector.vault.held(connection_id)
    digests = await _stored_digests(down, connection_id)
    assert held.refresh is not None and held.access is not None
    assert digests == {"access": held.access_digest, "refresh": held.refresh_digest}
    assert await _last_refresh_digest(down, connection_id) == held.refresh_digest
    assert await upstream.introspect(client, held.refresh)
    assert await upstream.introspect(client, held.access)
    await down.http.delete(f"/connections/{connection_id}", headers=user.headers)


async def test_a_revocation_at_the_upstream_is_found_by_the_health_check(
    down: Downstream, upstream: Upstream
) -> None:
    client = await upstream.connector_client()
    provider = await down.register_provider(
        upstream, client, refresh_margin_s=0, health_check_interval_s=1
    )
    user = await down.user()
    connection_id = await down.connect(user, provider, upstream, await upstream.user())
    held = await down.connector.vault.held(connection_id)
    assert held.refresh is not None
    await upstream.revoke(client, held.refresh)  # at the provider: the grant is gone there

    async def revoked_here() -> bool:
        return await down.status_is(user, connection_id, "revoked")

    async with scheduling(down):
        await eventually(revoked_here)

    types = await down.event_types(connection_id)
    assert types[2:] == [
        "connection_health_checked", "upstream_refresh_started", "upstream_refresh_failed",
        "connection_revoked",
    ]  # fmt: skip
    view = await down.status(user, connection_id)
    assert view["end_reason"] == "upstream: invalid_grant"
    assert await _stored_digests(down, connection_id) == {}  # erased with the connection
    code, out, err = await cli(down.settings, "connections", "show", connection_id, "--json")
    assert code == 0, err
    assert json.loads(out)["status"] == "revoked"
    assert await upstream.count("refresh_token_reuse_detected") == 0
    # The audit trail tells the owner's story, the scheduler's actions with their outcomes.
    await catch_up(down.pool, audit_trail.PROJECTION, personal=reader(down.pool))
    async with down.pool.acquire() as conn:
        rows = await conn.fetch(
            "SELECT action, outcome, reason, actor_id, subject_user FROM audit_trail"
            " WHERE resource = $1 ORDER BY seq", f"connection:{connection_id}",
        )  # fmt: skip
    assert {r["subject_user"] for r in rows} == {user.user_id}
    assert [(r["action"], r["outcome"], r["reason"], r["actor_id"]) for r in rows[2:]] == [
        ("connection_health_checked", "failure", "token_inactive", "scheduler"),
        ("upstream_refresh_started", "success", None, "scheduler"),
        ("upstream_refresh_failed", "failure", "invalid_grant", "scheduler"),
        ("connection_revoked", "failure", "revoked_upstream: invalid_grant", "scheduler"),
    ]


async def test_disconnecting_revokes_the_tokens_at_the_upstream_and_erases_them(
    down: Downstream, upstream: Upstream
) -> None:
    client = await upstream.connector_client()
    provider = await down.register_provider(upstream, client)
    user = await down.user()
    connection_id = await down.connect(user, provider, upstream, await upstream.user())
    held = await down.connector.vault.held(connection_id)
    assert held.access is not None and held.refresh is not None

    other = await down.user()
    foreign = await down.http.delete(f"/connections/{connection_id}", headers=other.headers)
    assert foreign.status_code == 404
    ended = await down.http.delete(f"/connections/{connection_id}", headers=user.headers)
    assert ended.status_code == 204, ended.text

    assert not await upstream.introspect(client, held.refresh)
    assert not await upstream.introspect(client, held.access)
    view = await down.status(user, connection_id)
    assert (view["status"], view["end_reason"]) == ("revoked", "owner")
    assert await _stored_digests(down, connection_id) == {}
    async with down.pool.acquire() as conn:
        data = await conn.fetchval(
            "SELECT data FROM events WHERE stream_id = $1 AND event_type = 'connection_revoked'",
            f"connection-{connection_id}",
        )
    assert json.loads(data)["upstream_revoked"] is True


def _shapes(token: Secret) -> list[str]:
    """The token as it could sit in a column: clear, base64 (both alphabets), hex."""
    raw = token.reveal().encode()
    return [
        token.reveal(),
        base64.b64encode(raw).decode().rstrip("="),
        base64.urlsafe_b64encode(raw).decode().rstrip("="),
        raw.hex(),
    ]


async def _everything(down: Downstream) -> str:
    """Every row of every table, bytea as hex: events, projections, the vault."""
    async with down.pool.acquire() as conn:
        tables = await conn.fetch("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
        chunks: list[str] = []
        for row in tables:
            rows = await conn.fetch(f'SELECT row_to_json(t)::text AS r FROM "{row[0]}" t')
            chunks.extend(r["r"] for r in rows)
    return "\n".join(chunks)


async def test_no_upstream_token_is_readable_anywhere_in_the_database(
    down: Downstream, upstream: Upstream
) -> None:
    client = await upstream.connector_client()
    provider = await down.register_provider(upstream, client, refresh_margin_s=58)
    user = await down.user()
    connection_id = await down.connect(user, provider, upstream, await upstream.user())
    seen: dict[str, Secret] = {}

    async def collect() -> bool:
        held = await down.connector.vault.held(connection_id)
        for token in (held.access, held.refresh):
            if token is not None:
                seen[token.reveal()] = token
        return await down.refreshes(user, connection_id) >= 2

    async with scheduling(down):
        await eventually(collect)
    await collect()
    assert len(seen) >= 4  # the first pair and at least one rotated pair

    dump = await _everything(down)
    assert "upstream_token_refreshed" in dump and '"ciphertext":"v1.' in dump  # it saw all
    for token in seen.values():
        for shape in _shapes(token):
            assert shape not in dump
    await down.http.delete(f"/connections/{connection_id}", headers=user.headers)


async def test_rotating_the_vault_key_encrypts_every_token_again_and_destroys_the_old_key(
    down: Downstream, upstream: Upstream
) -> None:
    client = await upstream.connector_client()
    provider = await down.register_provider(upstream, client)
    user = await down.user()
    connections = [
        await down.connect(user, provider, upstream, await upstream.user()) for _ in range(3)
    ]
    before = {c: await down.connector.vault.held(c) for c in connections}
    async with down.pool.acquire() as conn:
        old_kids = {r[0] for r in await conn.fetch("SELECT DISTINCT kid FROM upstream_tokens")}

    code, out, err = await cli(down.settings, "connections", "rotate-key", "--json")

    assert code == 0, err
    rotated = json.loads(out)
    assert set(rotated["retired"]) == old_kids and rotated["reencrypted"] >= 6
    async with down.pool.acquire() as conn:
        kids = {r[0] for r in await conn.fetch("SELECT DISTINCT kid FROM upstream_tokens")}
        keys = {r["kid"]: r for r in await conn.fetch("SELECT * FROM vault_keys")}
    assert kids == {rotated["kid"]}
    for kid in old_kids:
        assert keys[kid]["status"] == "retired" and keys[kid]["sealed_key"] is None
    for connection_id, held in before.items():
        after = await down.connector.vault.held(connection_id)
        assert after.access == held.access and after.refresh == held.refresh
        assert after.access is not None and await upstream.introspect(client, after.access)
    async with down.pool.acquire() as conn:
        logged = await conn.fetch(
            "SELECT event_type FROM events WHERE stream_id LIKE 'vault_key-%'"
            " ORDER BY global_position DESC LIMIT 2"
        )
    assert {r[0] for r in logged} == {"vault_key_created", "vault_key_retired"}
