"""Benchmark of the audit trail at scale: a million events across ten thousand users.

One run, on a fresh database (embedded, or a new database on KEYLEDGER_DATABASE_URL):

1. generate the log (tests/bench/audit_history.py: ~100 events per user over 90 days);
2. rebuild the audit_trail projection from position 0 (target >= 20,000 events/s);
3. per-user trail, the last 100 actions of a random user, as the audit API asks it
   (target p99 < 50 ms);
4. point-in-time holdings of a random user at a random instant, from the log
   (target p99 < 200 ms);
5. export: every row of one workspace streamed as NDJSON, as the audit API streams it
   (target >= 50,000 rows/s);
6. projection lag with the projector running while 1,000 events/s are appended for 20 s
   (target < 1 s).

Run from the repository root (`make bench-audit`):

    python -m tests.bench.bench_audit [--users 10000] [--queries 500] [--json]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import sys
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Final

import asyncpg
import uvloop

from infra.config import load_settings
from infra.logging import configure_logging
from infra.postgres.event_store import NEW_STREAM, EventStore
from infra.postgres.notify import Notifier, Wakeup
from projections import audit_trail
from schemas.envelope import Metadata
from schemas.http.audit import EventsQuery, ExportQuery, PointInTimeQuery
from services import compliance
from services.authority import Authority, open_authority
from services.projector import Projector, catch_up, projection_status, rebuild
from tests.bench import audit_history
from tests.bench.databases import bench_database
from tests.bench.stats import percentile
from tests.factories import access_token_issued, token_stream
from tests.personal import reader

TARGETS: Final = {
    "rebuild_events_per_s": 20_000.0,
    "trail_p99_ms": 50.0,
    "point_in_time_p99_ms": 200.0,
    "export_rows_per_s": 50_000.0,
    "lag_max_s": 1.0,
}
LAG_RATE: Final = 1000
LAG_SECONDS: Final = 20.0
LAG_SAMPLE_S: Final = 0.2


def _say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


@dataclass(frozen=True)
class Timings:
    count: int
    p50_ms: float
    p99_ms: float
    max_ms: float


async def _timed(calls: Sequence[Callable[[], Awaitable[object]]]) -> Timings:
    millis = []
    for call in calls:
        start = time.perf_counter()
        await call()
        millis.append((time.perf_counter() - start) * 1000)
    millis.sort()
    return Timings(len(millis), percentile(millis, 0.5), percentile(millis, 0.99), millis[-1])


@dataclass(frozen=True)
class Report:
    users: int
    events: int
    generate_s: float
    rebuild_events_per_s: float
    trail: Timings
    point_in_time: Timings
    export_rows: int
    export_rows_per_s: float
    lag_max_s: float
    lag_p99_s: float

    def targets(self) -> dict[str, bool]:
        return {
            "rebuild >= 20,000 events/s": self.rebuild_events_per_s
            >= TARGETS["rebuild_events_per_s"],
            "trail p99 < 50 ms": self.trail.p99_ms < TARGETS["trail_p99_ms"],
            "point-in-time p99 < 200 ms": self.point_in_time.p99_ms
            < TARGETS["point_in_time_p99_ms"],
            "export >= 50,000 rows/s": self.export_rows_per_s >= TARGETS["export_rows_per_s"],
            "lag < 1 s": self.lag_max_s < TARGETS["lag_max_s"],
        }


# A platform-wide compliance caller: what the audit API hands the service per request.
AUDITOR: Final = compliance.Auditor(
    client_id="bench-auditor", workspace_id=None, metadata=Metadata(actor="client")
)


async def user_trail(authority: Authority, user: str) -> None:
    """`GET /audit/users/{user}/timeline?limit=100`, the read recorded as the API records it."""
    page = await compliance.read_page(authority, AUDITOR, EventsQuery(limit=100), user=user)
    assert page.events, f"no trail for {user}"


async def holdings(authority: Authority, user: str, at: datetime) -> None:
    """`GET /audit/point-in-time?user=..&at=..`."""
    await compliance.point_in_time(authority, AUDITOR, PointInTimeQuery(at=at, user=user))


async def export_workspace(authority: Authority, workspace: str) -> int:
    """`GET /audit/export?workspace=..&format=ndjson`, the body drained as a client would."""
    query = ExportQuery(workspace=workspace)
    rows = 0
    async for chunk in compliance.export(
        authority, AUDITOR, query, compliance.export_filter(AUDITOR, query)
    ):
        rows += chunk.count(b"\n")
    return rows


async def measure_lag(url: str, pool: asyncpg.Pool) -> tuple[float, float]:
    """The projector live (woken by NOTIFY) while single appends arrive at LAG_RATE/s."""
    wakeup, notifier = Wakeup(), Notifier(pool)
    store = EventStore(pool, wake=notifier)
    projector = Projector(
        pool, (audit_trail.PROJECTION,), wakeup, poll_interval=0.5, personal=reader(pool)
    )
    lags: list[float] = []
    tasks = [asyncio.create_task(wakeup.keep_listening(url)), asyncio.create_task(projector.run())]

    async def sample() -> None:
        while True:
            async with pool.acquire() as conn:
                status = await projection_status(conn, audit_trail.NAME)
            lags.append(status.lag_seconds)
            await asyncio.sleep(LAG_SAMPLE_S)

    async def append() -> None:
        user = f"user-{random.randrange(10_000):06d}"
        await store.append(token_stream(), NEW_STREAM, [access_token_issued(subject=user)])

    tasks.append(asyncio.create_task(sample()))
    try:
        interval, start = 0.01, time.perf_counter()
        per_tick = round(LAG_RATE * interval)
        async with asyncio.TaskGroup() as group:
            for tick in range(round(LAG_SECONDS / interval)):
                for _ in range(per_tick):
                    group.create_task(append())
                await asyncio.sleep(max(0.0, start + (tick + 1) * interval - time.perf_counter()))
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await notifier.close()
        await wakeup.close()
    ordered = sorted(lags)
    return ordered[-1], percentile(ordered, 0.99)


async def run(args: argparse.Namespace) -> Report:
    rng = random.Random(11)
    with tempfile.TemporaryDirectory(prefix="klbench-audit-") as tmp:
        async with (
            bench_database(Path(tmp), uuid.uuid4().hex[:10]) as url,
            asyncpg.create_pool(url, min_size=2, max_size=8) as pool,
        ):
            _say(f"generating {args.users:,} users' history ...")
            start = time.perf_counter()
            events = await audit_history.generate(EventStore(pool), args.users)
            generated = time.perf_counter() - start
            _say(f"  {events:,} events in {generated:.0f} s; rebuilding audit_trail ...")
            start = time.perf_counter()
            rebuilt = await rebuild(pool, audit_trail.PROJECTION, personal=reader(pool))
            rebuild_rate = rebuilt / (time.perf_counter() - start)
            settings = load_settings(overrides={"data_dir": tmp, "database_url": url})
            authority = await open_authority(settings, pool)
            async with pool.acquire() as conn:
                await conn.execute("VACUUM ANALYZE audit_trail")
                await conn.execute("VACUUM ANALYZE events")
            _say(f"  {rebuild_rate:,.0f} events/s; querying ...")

            users = [f"user-{rng.randrange(args.users):06d}" for _ in range(args.queries)]
            trail = await _timed([_bound(user_trail, authority, user) for user in users])
            span = audit_history.SPAN.total_seconds()
            instants = [
                audit_history.START + timedelta(seconds=rng.uniform(0, span)) for _ in users
            ]
            pit = await _timed(
                [_bound(holdings, authority, u, at) for u, at in zip(users, instants, strict=True)]
            )
            _say("  exporting one workspace ...")
            start = time.perf_counter()
            exported = await export_workspace(authority, "ws-3")
            export_rate = exported / (time.perf_counter() - start)
            # The reads above were audited: project them first, so lag measures only the load.
            await catch_up(pool, audit_trail.PROJECTION, personal=reader(pool))
            _say(f"  lag at {LAG_RATE:,} events/s for {LAG_SECONDS:g} s ...")
            lag_max, lag_p99 = await measure_lag(url, pool)
    return Report(
        users=args.users,
        events=events,
        generate_s=round(generated, 1),
        rebuild_events_per_s=round(rebuild_rate),
        trail=trail,
        point_in_time=pit,
        export_rows=exported,
        export_rows_per_s=round(export_rate),
        lag_max_s=round(lag_max, 3),
        lag_p99_s=round(lag_p99, 3),
    )


def _bound(
    query: Callable[..., Awaitable[object]], *args: object
) -> Callable[[], Awaitable[object]]:
    return lambda: query(*args)


def _timings(name: str, timings: Timings) -> str:
    return (
        f"{name:<29}p50 {timings.p50_ms:7.2f} ms  p99 {timings.p99_ms:7.2f} ms  "
        f"max {timings.max_ms:7.2f} ms  ({timings.count} queries)"
    )


def table(report: Report) -> list[str]:
    t, p = report.trail, report.point_in_time
    export = f"{report.export_rows_per_s:,} rows/s ({report.export_rows:,} rows)"
    lag = f"max {report.lag_max_s:.3f} s, p99 {report.lag_p99_s:.3f} s"
    lines = [
        f"{report.events:,} events, {report.users:,} users (generated in {report.generate_s:g} s)",
        f"rebuild audit_trail          {report.rebuild_events_per_s:>10,} events/s",
        _timings("per-user trail (last 100)", t),
        _timings("point-in-time holdings", p),
        f"export ndjson, one workspace {export}",
        f"projection lag at {LAG_RATE:,}/s  {lag}",
        "",
    ]
    met = report.targets()
    lines.append("targets: " + ", ".join(f"{k} {'ok' if v else 'MISSED'}" for k, v in met.items()))
    return lines


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--users", type=int, default=10_000, help="users (10000: ~1M events)")
    parser.add_argument("--queries", type=int, default=500, help="queries of each kind (500)")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    configure_logging("console", "warning")
    report = uvloop.run(run(args))
    if args.json:
        print(json.dumps({**asdict(report), "targets": report.targets()}))
    else:
        print("\n".join(table(report)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
