"""Request latency as the log grows: token issuance and introspection over HTTP, measured on
an empty log and again after each few million events of history, in one run.

`keyledger serve` runs on a temporary data dir (embedded PostgreSQL and NATS, or
KEYLEDGER_DATABASE_URL / KEYLEDGER_NATS_URL) with range partitions of `--partition-size`
positions. Between measurements the history is appended through the real event store with
its hash chains and inline token state (tests/bench/audit_history.py: users signing in,
consenting, redeeming codes, refreshing tokens), then the service's relay, projections and
checkpoint sealer are waited for, so each measurement runs on a quiet, caught-up service.
Each measurement is the median (by p99) of `--repeat` runs of `wrk -t2 -c<connections>
-d<duration>s --latency`, each after a warmup, as in bench_oauth.py. Targets: p50 and p99 of
both endpoints within 25% (or 2 ms) of their value on the empty log, no failed requests.

Run from the repository root (`make bench-history`):

    python -m tests.bench.bench_history [--events 3000000] [--steps 3]
        [--partition-size 250000] [--duration 10] [--connections 16] [--workers 2]
        [--repeat 3] [--json]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Final
from urllib.parse import urlencode

import asyncpg
import httpx

from infra.postgres.event_store import EventStore
from projections import INLINE_BULK, inline_statements
from tests.bench import audit_history
from tests.bench.bench_oauth import (
    GRANT_FORM,
    UNLIMITED,
    BenchError,
    Wrk,
    answer,
    create_client,
    database_url,
    followers_caught_up,
    free_port,
    keyledger,
    measure,
    serving,
    stop_leftover_postgres,
    token_request,
    wait_until,
)
from tests.bench.proc_cpu import postmaster_pid

TOLERANCE: Final = 0.25
SLACK_MS: Final = 2.0
CATCH_UP_TIMEOUT_S: Final = 1800.0
USERS_PER_APPEND: Final = 20


def _say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


@dataclass(frozen=True)
class Step:
    events: int  # in the log when measured
    partitions: int  # range partitions of the short-lived streams
    issuance: Wrk
    introspection: Wrk
    generated_per_s: float  # history appended per second before this step (0 for the first)


async def _grow(url: str, first_user: int, events: int) -> tuple[int, int]:
    """Append user stories until `events` more events are in; returns (next user, appended)."""
    async with asyncpg.create_pool(url, min_size=2, max_size=4) as pool:
        store = EventStore(pool, inline=inline_statements, bulk=INLINE_BULK)
        appended, user = 0, first_user
        while appended < events:
            stories = [audit_history.story(n) for n in range(user, user + USERS_PER_APPEND)]
            await store.append_all([append for s in stories for append in s.appends])
            appended += sum(s.events for s in stories)
            user += USERS_PER_APPEND
    return user, appended


async def _settled(url: str) -> tuple[int, int]:
    """Vacuum what the history left behind; returns (events, range partitions)."""
    conn = await asyncpg.connect(url)
    try:
        events = int(await conn.fetchval("SELECT count(*) FROM events"))
        parts = int(
            await conn.fetchval(
                "SELECT count(*) FROM pg_inherits WHERE inhparent = 'events_ephemeral'::regclass"
            )
        )
        # Autovacuum of the fresh partitions would otherwise land inside a measurement.
        await conn.execute("VACUUM (ANALYZE)")
        return events, parts
    finally:
        await conn.close()


def run(args: argparse.Namespace, tmp: Path) -> list[Step]:
    data_dir, log, port = tmp / "data", tmp / "serve.log", free_port()
    base = f"http://127.0.0.1:{port}"
    os.environ["KEYLEDGER_EVENT_PARTITION_SIZE"] = str(args.partition_size)
    command = keyledger("serve", "--data-dir", str(data_dir), "--host", "127.0.0.1",
                        "--port", str(port), "--workers", str(args.workers))  # fmt: skip
    steps: list[Step] = []
    try:
        with serving(command, log, UNLIMITED) as process, httpx.Client(timeout=10) as client:
            wait_until(process, log, httpx.Request("GET", f"{base}/readyz"))
            credentials, url = create_client(data_dir), database_url(data_dir)

            def servers() -> list[int]:
                postmaster = postmaster_pid(data_dir / "postgres")
                return [process.pid] + ([postmaster] if postmaster else [])

            user, rate = 0, 0.0
            for step in range(args.steps + 1):
                if step:
                    started = time.monotonic()
                    user, appended = asyncio.run(_grow(url, user, args.events // args.steps))
                    rate = appended / (time.monotonic() - started)
                    _say(f"history: {appended:,} events appended at {rate:,.0f}/s")
                followers_caught_up(url, CATCH_UP_TIMEOUT_S)
                events, parts = asyncio.run(_settled(url))
                _say(f"measuring with {events:,} events in the log, {parts} range partitions")
                token = answer(client, token_request(base, credentials, GRANT_FORM))
                form = urlencode({"token": token["access_token"]})
                introspect = token_request(base, credentials, form, "/oauth/introspect")
                issuance = _median([
                    measure("issuance", f"{base}/oauth/token", GRANT_FORM, credentials, args,
                            servers=servers)[1] for _ in range(args.repeat)
                ])  # fmt: skip
                introspection = _median([
                    measure("introspection", str(introspect.url), form, credentials, args,
                            servers=servers)[1] for _ in range(args.repeat)
                ])  # fmt: skip
                steps.append(Step(events, parts, issuance, introspection, rate))
    finally:
        stop_leftover_postgres(data_dir / "postgres")
    return steps


def _median(runs: Sequence[Wrk]) -> Wrk:
    """The run of median p99 (this machine is shared: one run can land on a busy second)."""
    return sorted(runs, key=lambda run: run.p99_ms)[len(runs) // 2]


def flat(first: float, later: float) -> bool:
    return later <= first * (1 + TOLERANCE) or later - first <= SLACK_MS


def verdict(steps: Sequence[Step]) -> dict[str, bool]:
    empty, full = steps[0], steps[-1]
    return {
        "issuance p50 flat": flat(empty.issuance.p50_ms, full.issuance.p50_ms),
        "issuance p99 flat": flat(empty.issuance.p99_ms, full.issuance.p99_ms),
        "introspection p50 flat": flat(empty.introspection.p50_ms, full.introspection.p50_ms),
        "introspection p99 flat": flat(empty.introspection.p99_ms, full.introspection.p99_ms),
        "no failed requests": all(s.issuance.errors + s.introspection.errors == 0 for s in steps),
    }


def table(steps: Sequence[Step]) -> list[str]:
    header = (
        "| events in log | range partitions | issuance req/s | p50 ms | p99 ms "
        "| introspection req/s | p50 ms | p99 ms |"
    )
    lines = [
        header,
        "|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for s in steps:
        i, q = s.issuance, s.introspection
        lines.append(
            f"| {s.events:,} | {s.partitions} | {i.rate:,.0f} | {i.p50_ms:.2f} | {i.p99_ms:.2f} "
            f"| {q.rate:,.0f} | {q.p50_ms:.2f} | {q.p99_ms:.2f} |"
        )
    lines += [f"{'ok  ' if ok else 'MISS'} {name}" for name, ok in verdict(steps).items()]
    return lines


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=3_000_000, help="history appended in all")
    parser.add_argument("--steps", type=int, default=3, help="measurements after the first")
    parser.add_argument("--partition-size", type=int, default=250_000)
    parser.add_argument("--duration", type=int, default=10)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--repeat", type=int, default=3, help="runs per measurement (median)")
    parser.add_argument("--json", action="store_true")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="kl-history-") as tmp:
        try:
            steps = run(args, Path(tmp))
        except BenchError as error:
            _say(f"bench failed: {error}")
            return 2
    if args.json:
        report: dict[str, Any] = {"steps": [asdict(s) for s in steps], "targets": verdict(steps)}
        print(json.dumps(report, indent=2))
    else:
        print("\n".join(table(steps)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
