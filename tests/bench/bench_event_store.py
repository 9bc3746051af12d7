"""Benchmark of the event store's write path, the relay, and commit-to-subscriber latency.

It measures, in one run against the same servers:

1. single appends: events/s when 32 asyncio tasks each append one event to a new stream;
2. batched appends: events/s when 32 tasks each append 50 events to a new stream;
3. a raw asyncpg baseline for both, into a scratch table shaped like `events` (same columns,
   keys and indexes, no triggers) with precomputed rows: a one-row INSERT per commit, and an
   `INSERT ... SELECT FROM unnest(...)` of 50 rows per commit; keyledger's figures are also
   given as a ratio of their baseline;
4. relay throughput: events/s from the log to acknowledged JetStream messages, calling
   `Relay.publish_once(conn)` (batches of 1000) until it returns 0, over every event appended;
5. latency from commit to a plain NATS subscriber of `<prefix>.events.>`, with the relay
   running and woken by LISTEN/NOTIFY, while single appends are offered at a steady rate
   (1000 events/s for 10 s by default, each event in its own stream).

Embedded PostgreSQL and NATS are started in a temporary directory and stopped at the end.
With KEYLEDGER_DATABASE_URL (or KEYLEDGER_NATS_URL) set, that server is used instead: the run
gets a database (a JetStream stream and subject prefix) of its own, removed afterwards.

Run from the repository root:

    python -m tests.bench.bench_event_store [--events N] [--batched-events N] [--duration S]

The report is a plain text table followed by one line of JSON with the same figures.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Final, TypeVar
from uuid import UUID

import asyncpg
import msgspec
import nats
import uvloop
from nats.aio.msg import Msg

from infra.embedded import EmbeddedNats
from infra.logging import configure_logging
from infra.nats_bus import EventBus
from infra.postgres.event_store import NEW_STREAM, EventStore
from infra.postgres.notify import Notifier, Wakeup
from schemas.canonical import GENESIS_HASH, encode_metadata
from schemas.envelope import NewEvent
from schemas.events import encode_event, event_type_of
from schemas.messages import EventMessage, events_wildcard
from services.relay import Relay
from tests.bench.databases import bench_database
from tests.bench.stats import percentile
from tests.factories import access_token_issued, token_stream

T = TypeVar("T")

POOL_SIZE: Final = 40
BATCH: Final = 50
RELAY_BATCH: Final = 1000
TICK_S: Final = 0.01
DRAIN_TIMEOUT_S: Final = 10.0

# One appended stream: its id and its events.
Work = tuple[str, list[NewEvent]]
# One baseline row, in the column order of the INSERTs below.
Row = tuple[str, int, UUID, str, int, bytes, str, datetime, bytes, bytes]

_SCRATCH_DDL = """
CREATE TABLE bench_baseline (
    global_position bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    stream_id       text        NOT NULL,
    stream_version  integer     NOT NULL,
    event_id        uuid        NOT NULL UNIQUE,
    event_type      text        NOT NULL,
    schema_version  smallint    NOT NULL,
    data            bytea       NOT NULL,
    metadata        jsonb       NOT NULL,
    occurred_at     timestamptz NOT NULL,
    tx_id           xid8        NOT NULL DEFAULT pg_current_xact_id(),
    prev_hash       bytea       NOT NULL,
    hash            bytea       NOT NULL,
    UNIQUE (stream_id, stream_version)
);
CREATE INDEX ON bench_baseline (tx_id, global_position);
"""

_SCRATCH_COLUMNS = """stream_id, stream_version, event_id, event_type, schema_version,
                      data, metadata, occurred_at, prev_hash, hash"""

_INSERT_ONE = f"""
INSERT INTO bench_baseline ({_SCRATCH_COLUMNS})
VALUES ($1, $2, $3, $4, $5, $6, $7::jsonb, $8, $9, $10)
"""

_INSERT_MANY = f"""
INSERT INTO bench_baseline ({_SCRATCH_COLUMNS})
SELECT s, v, e, t, sv, d, m::jsonb, o, p, h
FROM unnest($1::text[], $2::int4[], $3::uuid[], $4::text[], $5::int2[], $6::bytea[],
            $7::text[], $8::timestamptz[], $9::bytea[], $10::bytea[])
     AS r(s, v, e, t, sv, d, m, o, p, h)
"""


# ---------------------------------------------------------------------------------------------
# Results


@dataclass(frozen=True)
class Throughput:
    events: int
    seconds: float

    @property
    def rate(self) -> float:
        return self.events / self.seconds if self.seconds > 0 else 0.0

    def as_json(self) -> dict[str, float]:
        return {"events": self.events, "seconds": round(self.seconds, 3), "rate": round(self.rate)}


@dataclass(frozen=True)
class Compared:
    keyledger: Throughput
    baseline: Throughput

    @property
    def ratio(self) -> float:
        return self.keyledger.rate / self.baseline.rate if self.baseline.rate > 0 else 0.0

    def as_json(self) -> dict[str, Any]:
        return {
            "keyledger": self.keyledger.as_json(),
            "baseline": self.baseline.as_json(),
            "ratio": round(self.ratio, 3),
        }


@dataclass(frozen=True)
class Latency:
    sent: int
    received: int
    offered_rate: float
    p50_ms: float
    p99_ms: float
    max_ms: float

    def as_json(self) -> dict[str, float]:
        return {
            "sent": self.sent,
            "received": self.received,
            "offered_rate": round(self.offered_rate),
            "p50_ms": round(self.p50_ms, 2),
            "p99_ms": round(self.p99_ms, 2),
            "max_ms": round(self.max_ms, 2),
        }


@dataclass(frozen=True)
class Report:
    single: Compared
    batched: Compared
    relay: Throughput
    latency: Latency


# ---------------------------------------------------------------------------------------------
# Servers


@dataclass(frozen=True)
class Target:
    database_url: str
    nats_url: str
    stream: str
    prefix: str


@contextlib.asynccontextmanager
async def _nats(workdir: Path, stream: str, prefix: str) -> AsyncIterator[str]:
    """A NATS URL: KEYLEDGER_NATS_URL (the run's stream deleted afterwards), or embedded."""
    external = os.environ.get("KEYLEDGER_NATS_URL")
    if not external:
        server = EmbeddedNats(workdir / "nats")
        try:
            yield server.start()
        finally:
            server.stop()
        return
    try:
        yield external
    finally:
        bus = await EventBus.connect(external, stream=stream, prefix=prefix, name="bench-cleanup")
        with contextlib.suppress(Exception):
            await bus.delete_stream()
        await bus.close()


@contextlib.asynccontextmanager
async def _servers() -> AsyncIterator[Target]:
    run = uuid.uuid4().hex[:10]
    stream, prefix = f"KLBENCH_{run}", f"klbench_{run}"
    with tempfile.TemporaryDirectory(prefix="klbench-") as tmp:
        workdir = Path(tmp)
        async with (
            bench_database(workdir, run) as database_url,
            _nats(workdir, stream, prefix) as nats_url,
        ):
            yield Target(database_url, nats_url, stream, prefix)


# ---------------------------------------------------------------------------------------------
# Appends


def _build_work(events: int, per_append: int) -> list[Work]:
    """Events built ahead, so the timed part holds only the appends."""
    return [
        (token_stream(), [access_token_issued() for _ in range(per_append)])
        for _ in range(max(1, events // per_append))
    ]


def _baseline_rows(work: Work) -> list[Row]:
    """The same events as plain column values; hashes are random bytes of the right size."""
    stream_id, events = work
    rows: list[Row] = []
    prev_hash = GENESIS_HASH
    for version, new in enumerate(events, start=1):
        digest = os.urandom(32)
        rows.append(
            (
                stream_id,
                version,
                new.event_id,
                event_type_of(new.event),
                type(new.event).schema_version,
                encode_event(new.event),
                encode_metadata(new.metadata).decode(),
                new.occurred_at,
                prev_hash,
                digest,
            )
        )
        prev_hash = digest
    return rows


def _columns(rows: list[Row]) -> list[list[Any]]:
    return [list(column) for column in zip(*rows, strict=True)]


def _count(work: Sequence[Work]) -> int:
    return sum(len(events) for _, events in work)


async def _run_concurrently(
    items: Sequence[T], tasks: int, action: Callable[[T], Awaitable[object]]
) -> float:
    """Seconds for `tasks` workers to take every item from a shared queue and run `action`."""
    queue = iter(items)

    async def worker() -> None:
        for item in queue:
            await action(item)

    start = time.perf_counter()
    async with asyncio.TaskGroup() as group:
        for _ in range(tasks):
            group.create_task(worker())
    return time.perf_counter() - start


async def _settle(pool: asyncpg.Pool) -> None:
    """Start each measurement from a clean checkpoint, if we are allowed to ask for one."""
    async with pool.acquire() as conn:
        with contextlib.suppress(asyncpg.InsufficientPrivilegeError):
            await conn.execute("CHECKPOINT")


async def _append_keyledger(pool: asyncpg.Pool, work: list[Work], tasks: int) -> Throughput:
    store = EventStore(pool)

    async def append(item: Work) -> None:
        await store.append(item[0], NEW_STREAM, item[1])

    await _settle(pool)
    return Throughput(_count(work), await _run_concurrently(work, tasks, append))


async def _append_baseline_one(pool: asyncpg.Pool, work: list[Work], tasks: int) -> Throughput:
    rows = [row for item in work for row in _baseline_rows(item)]

    async def insert(row: Row) -> None:
        async with pool.acquire() as conn:
            await conn.execute(_INSERT_ONE, *row)

    await _settle(pool)
    return Throughput(len(rows), await _run_concurrently(rows, tasks, insert))


async def _append_baseline_many(pool: asyncpg.Pool, work: list[Work], tasks: int) -> Throughput:
    batches = [_columns(_baseline_rows(item)) for item in work]

    async def insert(columns: list[list[Any]]) -> None:
        async with pool.acquire() as conn:
            await conn.execute(_INSERT_MANY, *columns)

    await _settle(pool)
    return Throughput(_count(work), await _run_concurrently(batches, tasks, insert))


async def measure_single(pool: asyncpg.Pool, events: int, tasks: int) -> Compared:
    work = _build_work(events, 1)
    baseline = await _append_baseline_one(pool, work, tasks)
    return Compared(await _append_keyledger(pool, work, tasks), baseline)


async def measure_batched(pool: asyncpg.Pool, events: int, tasks: int) -> Compared:
    work = _build_work(events, BATCH)
    baseline = await _append_baseline_many(pool, work, tasks)
    return Compared(await _append_keyledger(pool, work, tasks), baseline)


# ---------------------------------------------------------------------------------------------
# Relay and latency


async def measure_relay(pool: asyncpg.Pool, bus: EventBus) -> Throughput:
    """Publish the whole backlog, batch by batch, as a relay that just took the lead would."""
    relay = Relay(pool, bus, Wakeup(), batch_size=RELAY_BATCH)
    published = 0
    start = time.perf_counter()
    async with pool.acquire() as conn:
        while batch := await relay.publish_once(conn):
            published += batch
    return Throughput(published, time.perf_counter() - start)


async def _offer_load(
    store: EventStore, committed: dict[UUID, float], rate: int, duration: float
) -> float:
    """Append `rate` single events/s for `duration` s, in ticks; returns the seconds taken."""
    per_tick = max(1, round(rate * TICK_S))
    interval = per_tick / rate
    ticks = max(1, round(duration / interval))

    async def append() -> None:
        new = access_token_issued()
        await store.append(token_stream(), NEW_STREAM, [new])
        committed[new.event_id] = time.perf_counter()

    start = time.perf_counter()
    async with asyncio.TaskGroup() as group:
        for tick in range(ticks):
            for _ in range(per_tick):
                group.create_task(append())
            await asyncio.sleep(max(0.0, start + (tick + 1) * interval - time.perf_counter()))
    return time.perf_counter() - start


async def _until(condition: Callable[[], bool], timeout: float) -> None:
    deadline = time.perf_counter() + timeout
    while not condition() and time.perf_counter() < deadline:
        await asyncio.sleep(0.05)


def _latency(committed: dict[UUID, float], arrived: dict[UUID, float], seconds: float) -> Latency:
    millis = sorted(
        (arrived[event_id] - at) * 1000 for event_id, at in committed.items() if event_id in arrived
    )
    return Latency(
        sent=len(committed),
        received=len(millis),
        offered_rate=len(committed) / seconds,
        p50_ms=percentile(millis, 0.50),
        p99_ms=percentile(millis, 0.99),
        max_ms=percentile(millis, 1.0),
    )


@contextlib.asynccontextmanager
async def _running(*coroutines: Coroutine[Any, Any, None]) -> AsyncIterator[None]:
    """Run background tasks for the duration of the block, then cancel them."""
    tasks = [asyncio.create_task(coroutine) for coroutine in coroutines]
    try:
        yield
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


async def measure_latency(
    target: Target, pool: asyncpg.Pool, bus: EventBus, rate: int, duration: float
) -> Latency:
    committed: dict[UUID, float] = {}
    arrived: dict[UUID, float] = {}
    decoder = msgspec.json.Decoder(EventMessage)

    async def on_message(msg: Msg) -> None:
        at = time.perf_counter()
        arrived[decoder.decode(msg.data).event_id] = at

    subscriber = await nats.connect(target.nats_url, name="bench-subscriber")
    await subscriber.subscribe(events_wildcard(target.prefix), cb=on_message)
    await subscriber.flush()
    wakeup, notifier = Wakeup(), Notifier(pool)
    relay = Relay(pool, bus, wakeup, batch_size=RELAY_BATCH, poll_interval=0.5)
    store = EventStore(pool, wake=notifier)
    try:
        async with _running(wakeup.keep_listening(target.database_url), relay.run()):
            await _until(lambda: wakeup.listening and relay.leading.is_set(), timeout=10.0)
            seconds = await _offer_load(store, committed, rate, duration)
            await _until(lambda: committed.keys() <= arrived.keys(), DRAIN_TIMEOUT_S)
    finally:
        await notifier.close()
        await wakeup.close()
        await subscriber.close()
    return _latency(committed, arrived, seconds)


# ---------------------------------------------------------------------------------------------
# Report


_NAME_WIDTH: Final = 40
_HEADER: Final = (
    f"{'measurement':<{_NAME_WIDTH}}{'events':>9}{'seconds':>9}{'events/s':>12}"
    f"{'baseline/s':>12}{'ratio':>7}"
)


def _row(name: str, result: Throughput, baseline: Throughput | None = None) -> str:
    base = f"{baseline.rate:>12,.0f}" if baseline else f"{'-':>12}"
    ratio = f"{result.rate / baseline.rate:>7.2f}" if baseline and baseline.rate else f"{'-':>7}"
    return (
        f"{name:<{_NAME_WIDTH}}{result.events:>9,}{result.seconds:>9.2f}{result.rate:>12,.0f}"
        f"{base}{ratio}"
    )


def _table(report: Report, tasks: int) -> list[str]:
    single, batched = report.single, report.batched
    return [
        _HEADER,
        "-" * len(_HEADER),
        _row(f"append 1 event/commit, {tasks} tasks", single.keyledger, single.baseline),
        _row("  baseline: raw INSERT, 1 row/commit", single.baseline),
        _row(f"append {BATCH} events/commit, {tasks} tasks", batched.keyledger, batched.baseline),
        _row(f"  baseline: raw unnest, {BATCH} rows/commit", batched.baseline),
        _row(f"relay log -> acked JetStream, batch {RELAY_BATCH}", report.relay),
    ]


def _latency_lines(latency: Latency, duration: float) -> list[str]:
    offered = f"{latency.offered_rate:,.0f} events/s offered for {duration:g} s"
    received = f"received {latency.received:,} of {latency.sent:,}"
    spread = (
        f"p50 {latency.p50_ms:.2f} ms   p99 {latency.p99_ms:.2f} ms   max {latency.max_ms:.2f} ms"
    )
    return [f"latency commit -> subscriber, {offered}:", f"  {received}   {spread}"]


def print_report(report: Report, args: argparse.Namespace) -> None:
    for line in [
        "",
        *_table(report, args.tasks),
        "",
        *_latency_lines(report.latency, args.duration),
    ]:
        print(line)
    figures = {
        "append_single": report.single.as_json(),
        "append_batched": report.batched.as_json(),
        "relay": report.relay.as_json(),
        "latency": report.latency.as_json(),
    }
    print()
    print(json.dumps(figures, separators=(",", ":")))


async def run(args: argparse.Namespace) -> Report:
    async with (
        _servers() as target,
        asyncpg.create_pool(target.database_url, min_size=POOL_SIZE, max_size=POOL_SIZE) as pool,
    ):
        async with pool.acquire() as conn:
            await conn.execute(_SCRATCH_DDL)
        bus = await EventBus.connect(
            target.nats_url, stream=target.stream, prefix=target.prefix, name="bench"
        )
        try:
            await bus.ensure_stream()
            single = await measure_single(pool, args.events, args.tasks)
            batched = await measure_batched(pool, args.batched_events, args.tasks)
            relay = await measure_relay(pool, bus)
            latency = await measure_latency(target, pool, bus, args.rate, args.duration)
        finally:
            await bus.close()
    return Report(single, batched, relay, latency)


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--events", type=int, default=20_000, help="single appends (20000)")
    parser.add_argument(
        "--batched-events", type=int, default=200_000, help=f"events appended {BATCH} at a time"
    )
    parser.add_argument("--tasks", type=int, default=32, help="concurrent appending tasks (32)")
    parser.add_argument("--rate", type=int, default=1000, help="latency: events/s offered (1000)")
    parser.add_argument("--duration", type=float, default=10.0, help="latency: seconds (10)")
    return parser.parse_args(argv)


def main() -> None:
    args = parse_args()
    configure_logging(level="warning")
    print_report(uvloop.run(run(args)), args)


if __name__ == "__main__":
    main()
