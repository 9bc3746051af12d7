"""Signed checkpoints: sealed exactly once, and `audit verify` names each tampering they show."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys

import asyncpg
import msgspec
import pytest

from domain.chain import LoggedEvent, hash_of
from infra.config import Settings
from infra.crypto.jwt import SigningKey, signed_payload
from infra.postgres import Connection
from infra.postgres.event_store import NEW_STREAM, EventStore, StreamHead
from schemas.envelope import Metadata
from services.audit import audit_log
from services.authority import Authority, open_authority
from services.checkpointer import Checkpointer, seal_segment
from services.keys import ACCESS_ALG
from tests.factories import access_token_issued, token_stream


@pytest.fixture
async def authority(fresh_settings: Settings, fresh_pool: asyncpg.Pool) -> Authority:
    return await open_authority(fresh_settings, fresh_pool)  # creates the signing keys


async def seal_all(authority: Authority, max_events: int = 10_000) -> list[int]:
    """Seal every committed event; returns each new checkpoint's event count."""
    counts = []
    async with authority.pool.acquire() as conn:
        while sealed := await seal_segment(
            conn, authority.keys.signer(ACCESS_ALG), issuer="test", max_events=max_events
        ):
            counts.append(sealed.event_count)
    return counts


async def one_per_transaction(store: EventStore, stream: str, count: int) -> None:
    head: StreamHead = NEW_STREAM
    for _ in range(count):
        head = await store.append(stream, head, [access_token_issued()])


def cli(settings: Settings, *args: str) -> tuple[int, str]:
    env = {
        **os.environ,
        "KEYLEDGER_DATABASE_URL": settings.database_url or "",
        "KEYLEDGER_MASTER_KEY": settings.master_key or "",
        "KEYLEDGER_DATA_DIR": settings.data_dir,
    }
    done = subprocess.run(
        [sys.executable, "-m", "services.cli", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    return done.returncode, done.stdout + done.stderr


async def positions(conn: Connection, stream: str) -> dict[int, tuple[int, int]]:
    rows = await conn.fetch(
        "SELECT stream_version, global_position, tx_id FROM events WHERE stream_id = $1", stream
    )
    return {r["stream_version"]: (r["global_position"], r["tx_id"]) for r in rows}


async def rehash_last(conn: Connection, stream: str) -> None:
    """What a forger who knows the hash rule does to a stream's last event."""
    row = await conn.fetchrow(
        """SELECT global_position, stream_id, stream_version, event_id, event_type,
                  schema_version, occurred_at, metadata::text, data, prev_hash, hash
           FROM events WHERE stream_id = $1 ORDER BY stream_version DESC LIMIT 1""",
        stream,
    )
    assert row is not None
    values = dict(row.items())
    values["metadata"] = msgspec.json.decode(values["metadata"], type=Metadata)
    forged = LoggedEvent(**{**values, "data": row["data"].replace(b"read", b"root")})
    await conn.execute(
        "UPDATE events SET data = $2, hash = $3 WHERE global_position = $1",
        forged.global_position,
        forged.data,
        hash_of(forged),
    )


async def test_verify_pinpoints_each_tampering_behind_the_triggers_back(
    fresh_settings: Settings, authority: Authority
) -> None:
    store = EventStore(authority.pool)
    altered, removed_last, rehashed, tx_swapped, moved, removed_middle = (
        token_stream() for _ in range(6)
    )
    await seal_all(authority)  # checkpoint 1: the signing keys' events
    for stream in (altered, removed_last, rehashed, tx_swapped, moved, removed_middle):
        await one_per_transaction(store, stream, 3)
        await seal_all(authority)  # checkpoints 2 to 7: one per stream
    late = token_stream()
    await store.append(late, NEW_STREAM, [access_token_issued()])  # not yet checkpointed

    code, said = cli(fresh_settings, "audit", "verify")
    assert code == 0, said
    assert "log intact up to position" in said and "(7 checkpoints); 1 later events" in said

    async with authority.pool.acquire() as conn:
        at = {s: await positions(conn, s) for s in (altered, rehashed, tx_swapped, moved, late)}
        at[removed_last] = await positions(conn, removed_last)
        at[removed_middle] = await positions(conn, removed_middle)
        # A superuser behind the triggers' back.
        await conn.execute("ALTER TABLE events DISABLE TRIGGER USER")
        await conn.execute(
            "UPDATE events SET data = overlay(data placing '!'::bytea from 3)"
            " WHERE stream_id = $1 AND stream_version = 2",
            altered,
        )
        await conn.execute(
            "DELETE FROM events WHERE stream_id = $1 AND stream_version = 3", removed_last
        )
        await rehash_last(conn, rehashed)
        await conn.execute(
            "UPDATE events SET tx_id = CASE stream_version WHEN 1 THEN $2::xid8 ELSE $3::xid8 END"
            " WHERE stream_id = $1 AND stream_version IN (1, 2)",
            tx_swapped,
            at[tx_swapped][2][1],
            at[tx_swapped][1][1],
        )
        await conn.execute(
            "ALTER TABLE events ALTER COLUMN global_position SET GENERATED BY DEFAULT"
        )
        first, second = at[moved][1][0], at[moved][2][0]
        spare = second + 1_000  # unused, inside a partition made ahead
        for old, new in ((first, spare), (second, first), (spare, second)):
            await conn.execute(
                "UPDATE events SET global_position = $2 WHERE global_position = $1", old, new
            )
        await conn.execute(
            "DELETE FROM events WHERE stream_id = $1 AND stream_version = 2", removed_middle
        )
        # An event slipped into an already checkpointed stretch of the log.
        await conn.execute(
            "UPDATE events SET tx_id = $2::xid8 WHERE stream_id = $1", late, at[altered][1][1]
        )
        await conn.execute("ALTER TABLE events ENABLE TRIGGER USER")

    report = await audit_log(authority.pool)
    assert not report.intact
    assert {(b.kind, b.stream_id, b.stream_version) for b in report.breaks} == {
        ("altered", altered, 2),
        ("missing_before", removed_middle, 3),
    }
    found = {(b.kind, b.checkpoint, b.global_position) for b in report.checkpoint_breaks}
    assert found == {
        ("inserted", 2, at[late][1][0]),
        ("removed", 3, at[removed_last][3][0]),  # invisible to the stream's chain
        ("altered", 4, at[rehashed][3][0]),  # re-hashed: invisible to the chain too
        ("reordered", 5, at[tx_swapped][1][0]),
        ("reordered", 5, at[tx_swapped][2][0]),
        ("reordered", 6, first),
        ("reordered", 6, second),
        ("removed", 7, at[removed_middle][2][0]),
    }
    code, said = cli(fresh_settings, "audit", "verify")
    assert code == 1
    assert f"removed: checkpoint 3 (position {at[removed_last][3][0]})" in said
    assert f"altered: checkpoint 4, {rehashed} version 3" in said
    assert f"missing_before: {removed_middle} version 3" in said
    assert said.rstrip().endswith("log NOT intact: 10 breaks found")
    code, said = cli(fresh_settings, "audit", "verify", "--json")
    assert code == 1 and len(msgspec.json.decode(said)["checkpoint_breaks"]) == 8


async def test_a_forged_an_edited_and_a_deleted_checkpoint_are_reported(
    fresh_settings: Settings, authority: Authority
) -> None:
    store = EventStore(authority.pool)
    for _ in range(4):
        await store.append(token_stream(), NEW_STREAM, [access_token_issued()])
        await seal_all(authority)
    assert (await audit_log(authority.pool)).intact

    async with authority.pool.acquire() as conn:
        first = await conn.fetchrow("SELECT jws, kid FROM audit_checkpoints WHERE seq = 1")
        assert first is not None
        jws, kid = first["jws"], first["kid"]
        for statement in ("UPDATE audit_checkpoints SET kid = 'x'", "TRUNCATE audit_checkpoints"):
            with pytest.raises(asyncpg.PostgresError, match="append-only"):
                await conn.execute(statement)
        impostor = SigningKey.generate("ES256", kid)  # same kid, another private key
        forged = impostor.sign_jwt(
            msgspec.json.decode(signed_payload(jws) or b""), typ="keyledger-checkpoint+jwt"
        )
        await conn.execute("ALTER TABLE audit_checkpoints DISABLE TRIGGER USER")
        await conn.execute("UPDATE audit_checkpoints SET jws = $1 WHERE seq = 1", forged)
        await conn.execute("UPDATE audit_checkpoints SET merkle_root = $1 WHERE seq = 2", bytes(32))
        await conn.execute("DELETE FROM audit_checkpoints WHERE seq = 3")
        await conn.execute("ALTER TABLE audit_checkpoints ENABLE TRIGGER USER")

    report = await audit_log(authority.pool)
    assert report.breaks == []  # every stream's chain is intact: only checkpoints show it
    assert {(b.kind, b.checkpoint) for b in report.checkpoint_breaks} == {
        ("signature", 1),
        ("row_edited", 2),
        ("chain", 4),
    }
    code, said = cli(fresh_settings, "audit", "verify")
    assert code == 1
    assert f"signature: checkpoint 1: signature does not verify with key {kid!r}" in said
    assert "row_edited: checkpoint 2: row edited: merkle_root not as signed" in said
    assert "chain: checkpoint 4: checkpoint 3 before it is missing" in said


async def test_the_checkpointer_seals_at_n_events_or_after_the_interval_exactly_once(
    authority: Authority,
) -> None:
    await seal_all(authority)  # the signing keys' own events
    signer = authority.keys.signer(ACCESS_ALG)

    async def current() -> SigningKey:
        return signer

    # Two workers: one leads, the other stands by; neither seals an event twice.
    workers = [
        Checkpointer(
            authority.pool, current, issuer="t", max_events=5, interval_s=3.0, poll_interval=0.02
        )
        for _ in range(2)
    ]
    tasks = [asyncio.create_task(worker.run()) for worker in workers]
    try:
        store = EventStore(authority.pool)
        await one_per_transaction(store, token_stream(), 12)
        async with authority.pool.acquire() as conn:
            for _ in range(400):
                counts = [
                    r[0]
                    for r in await conn.fetch(
                        "SELECT event_count FROM audit_checkpoints WHERE seq > 1 ORDER BY seq"
                    )
                ]
                if sum(counts) >= 12:
                    break
                await asyncio.sleep(0.05)
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
    assert counts == [5, 5, 2]
    report = await audit_log(authority.pool)
    assert (report.intact, report.checkpoints, report.not_checkpointed) == (True, 4, 0)
