"""The event store's guarantees, against a real PostgreSQL."""

from __future__ import annotations

import asyncio
import uuid

import asyncpg
import pytest

from infra.postgres.event_store import (
    NEW_STREAM,
    ConcurrencyError,
    EventStore,
    StreamAppend,
    StreamHead,
    read_after_follower,
)
from schemas.canonical import GENESIS_HASH, event_hash
from tests.factories import access_token_issued, client_registered, token_stream


async def test_exactly_one_of_50_concurrent_appends_at_the_same_version_wins(
    store: EventStore,
) -> None:
    stream = token_stream()
    head = await store.append(stream, NEW_STREAM, [access_token_issued()])

    results = await asyncio.gather(
        *(store.append(stream, head, [access_token_issued()]) for _ in range(50)),
        return_exceptions=True,
    )

    winners = [r for r in results if isinstance(r, StreamHead)]
    losers = [r for r in results if isinstance(r, ConcurrencyError)]
    assert len(winners) == 1
    assert len(losers) == 49
    events, final = await store.read_stream(stream)
    assert [e.stream_version for e in events] == [1, 2]
    assert final == winners[0]


async def test_exactly_one_of_20_concurrent_starts_of_one_stream_wins(store: EventStore) -> None:
    stream = token_stream()

    results = await asyncio.gather(
        *(store.append(stream, NEW_STREAM, [access_token_issued()]) for _ in range(20)),
        return_exceptions=True,
    )

    winners = [r for r in results if isinstance(r, StreamHead)]
    assert len(winners) == 1
    assert sum(isinstance(r, ConcurrencyError) for r in results) == 19
    events, head = await store.read_stream(stream)
    assert [e.stream_version for e in events] == [1]
    assert head == winners[0]


async def test_appending_at_a_stale_or_future_head_is_a_concurrency_error(
    store: EventStore,
) -> None:
    stream = token_stream()
    first = await store.append(stream, NEW_STREAM, [access_token_issued()])
    await store.append(stream, first, [access_token_issued()])

    with pytest.raises(ConcurrencyError):
        await store.append(stream, first, [access_token_issued()])
    with pytest.raises(ConcurrencyError):
        await store.append(stream, NEW_STREAM, [access_token_issued()])
    with pytest.raises(ConcurrencyError):  # a version that does not exist yet: no gaps
        await store.append(stream, StreamHead(5, first.hash), [access_token_issued()])
    with pytest.raises(ConcurrencyError):  # right version, wrong head hash
        await store.append(stream, StreamHead(2, GENESIS_HASH), [access_token_issued()])


async def test_each_event_hash_chains_to_the_previous_one_in_its_stream(
    store: EventStore,
) -> None:
    stream = token_stream()
    head = await store.append(stream, NEW_STREAM, [access_token_issued() for _ in range(3)])

    events, read_head = await store.read_stream(stream)
    assert read_head == head
    prev = GENESIS_HASH
    async with store._pool.acquire() as conn:
        rows = await conn.fetch(
            "SELECT prev_hash, data FROM events WHERE stream_id = $1 ORDER BY stream_version",
            stream,
        )
    for event, row in zip(events, rows, strict=True):
        assert row["prev_hash"] == prev
        recomputed = event_hash(
            prev,
            stream_id=event.stream_id,
            stream_version=event.stream_version,
            event_id=event.event_id,
            event_type=event.event_type,
            schema_version=event.schema_version,
            occurred_at=event.occurred_at,
            metadata=event.metadata,
            data=row["data"],
        )
        assert recomputed == event.hash
        prev = event.hash


async def test_appends_to_several_streams_in_one_call_are_all_or_nothing(
    store: EventStore,
) -> None:
    taken = token_stream()
    head = await store.append(taken, NEW_STREAM, [access_token_issued()])
    fresh = token_stream()

    with pytest.raises(ConcurrencyError):
        await store.append_all(
            [
                StreamAppend(fresh, NEW_STREAM, [access_token_issued()]),
                StreamAppend(taken, NEW_STREAM, [access_token_issued()]),
            ]
        )
    assert (await store.read_stream(fresh))[0] == []

    heads = await store.append_all(
        [
            StreamAppend(fresh, NEW_STREAM, [access_token_issued(), access_token_issued()]),
            StreamAppend(taken, head, [access_token_issued()]),
        ]
    )
    assert [h.version for h in heads] == [2, 2]


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE events SET event_type = 'forged' WHERE stream_id = $1",
        "DELETE FROM events WHERE stream_id = $1",
    ],
)
async def test_the_log_refuses_update_and_delete(
    store: EventStore, pool: asyncpg.Pool, statement: str
) -> None:
    stream = token_stream()
    await store.append(stream, NEW_STREAM, [access_token_issued()])
    async with pool.acquire() as conn:
        with pytest.raises(asyncpg.PostgresError, match="append-only"):
            await conn.execute(statement, stream)
    events, _ = await store.read_stream(stream)
    assert [e.event_type for e in events] == ["access_token_issued"]


async def test_the_log_refuses_truncate(pool: asyncpg.Pool) -> None:
    async with pool.acquire() as conn:
        with pytest.raises(asyncpg.PostgresError, match="append-only"):
            await conn.execute("TRUNCATE events")


_ROW = "INSERT INTO test_inline_jtis (jti, stream_id) VALUES ($1, $2)"
_BULK = (
    "INSERT INTO test_inline_jtis (jti, stream_id)"
    " SELECT v->>0, v->>1 FROM jsonb_array_elements($1::jsonb) AS x(v)"
)


@pytest.mark.parametrize("bulk", [{}, {_ROW: _BULK}], ids=["in a transaction", "one statement"])
async def test_an_inline_projection_commits_or_rolls_back_with_the_append(
    pool: asyncpg.Pool, bulk: dict[str, str]
) -> None:
    async with pool.acquire() as conn:
        await conn.execute(
            "CREATE TABLE IF NOT EXISTS test_inline_jtis (jti text PRIMARY KEY, stream_id text)"
        )

    def project(events: object) -> list[tuple[str, tuple[object, ...]]]:
        return [(_ROW, (e.event.jti, e.stream_id)) for e in events]  # type: ignore[attr-defined]

    store = EventStore(pool, inline=project, bulk=bulk)
    stream = token_stream()
    event = access_token_issued()
    await store.append(stream, NEW_STREAM, [event])
    with pytest.raises(ConcurrencyError):  # the append fails, so its projection must not land
        await store.append(stream, NEW_STREAM, [access_token_issued()])

    async with pool.acquire() as conn:
        rows = await conn.fetch("SELECT jti FROM test_inline_jtis WHERE stream_id = $1", stream)
    assert [r["jti"] for r in rows] == [event.event.jti]  # type: ignore[union-attr]


async def test_a_follower_of_some_types_reads_every_event_but_only_their_payloads(
    store: EventStore, pool: asyncpg.Pool
) -> None:
    token, client = token_stream(), f"client-{uuid.uuid4().hex}"
    await store.append(token, NEW_STREAM, [access_token_issued()])
    await store.append(client, NEW_STREAM, [client_registered(client)])

    async with pool.acquire() as conn:
        full = await read_after_follower(conn, "types-test", 100_000)
        some = await read_after_follower(
            conn, "types-test", 100_000, types=frozenset({"client_registered"})
        )

    assert [e.global_position for e in some] == [e.global_position for e in full]
    ours = {e.stream_id: e for e in some if e.stream_id in (token, client)}
    assert ours[token].data == b"" and ours[token].metadata == "{}"
    assert ours[client] == next(e for e in full if e.stream_id == client)
