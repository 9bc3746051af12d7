"""API-key benchmark: the latency a workspace API key adds to a request.

`keyledger serve` (1 worker, its embedded PostgreSQL and NATS on a temporary data dir, or
KEYLEDGER_DATABASE_URL / KEYLEDGER_NATS_URL), then with the CLI a user, a workspace it owns
and an API key with scope analytics.read. On one kept-alive HTTP/1.1 connection, one request
at a time, in interleaved rounds (which endpoint goes first alternates): `GET /api-keys/current`
with `Authorization: Bearer klk_...` and `X-Workspace-Id` (the key is looked up by its keyed
digest in the inline key state) and `GET /healthz` (no authentication, same app and
middleware), --requests of each after a warm-up. Reported: p50 and p99 of each and what the
key adds at p50. Target: < 1 ms added at p50. With wrk installed, also requests/s of both
endpoints (`wrk -t2 -c32 -d<duration>s`, after a 3 s warm-up).

Run from the repository root (`make bench-api-keys`):

    python -m tests.bench.bench_api_keys [--requests 5000] [--duration 10] [--no-wrk]
                                         [--json] [--check]
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Final
from urllib.parse import urlsplit

import httpx

from tests.bench.bench_oauth import (
    HERE,
    REPO,
    WARMUP_S,
    BenchError,
    Wrk,
    free_port,
    keyledger,
    parse_wrk,
    serving,
    stop_leftover_postgres,
    wait_until,
)
from tests.bench.stats import percentile

TARGET_ADDED_P50_MS: Final = 1.0
WARMUP_REQUESTS: Final = 500
ROUND: Final = 100  # requests of one endpoint before switching to the other
SCOPE: Final = "analytics.read"
LUA: Final = HERE / "wrk" / "get_headers.lua"
CURRENT: Final = "/api-keys/current"
HEALTH: Final = "/healthz"


def _say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


@dataclass(frozen=True)
class Latency:
    count: int
    p50_ms: float
    p99_ms: float
    mean_ms: float


@dataclass(frozen=True)
class Result:
    requests: int
    workers: int
    healthz: Latency
    api_key: Latency
    added_p50_ms: float
    added_p99_ms: float
    wrk_api_key: Wrk | None
    wrk_healthz: Wrk | None


class Connection:
    """A kept-alive HTTP/1.1 connection: the stdlib client adds the least of its own time."""

    def __init__(self, base: str) -> None:
        parts = urlsplit(base)
        self._conn = http.client.HTTPConnection(parts.hostname or "", parts.port, timeout=10)

    def get(self, path: str, headers: dict[str, str]) -> tuple[int, bytes]:
        self._conn.request("GET", path, headers=headers)
        response = self._conn.getresponse()
        return response.status, response.read()

    def close(self) -> None:
        self._conn.close()


def _cli(data_dir: Path, *arguments: str, stdin: str = "") -> dict[str, Any]:
    """`keyledger <arguments> --json --data-dir D`: its JSON answer."""
    done = subprocess.run(
        keyledger(*arguments, "--json", "--data-dir", str(data_dir)),
        cwd=REPO, input=stdin, capture_output=True, text=True, check=False, timeout=120,
    )  # fmt: skip
    lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
    if done.returncode != 0 or not lines:
        what = " ".join(arguments[:2])
        raise BenchError(f"keyledger {what} failed ({done.returncode}):\n{done.stderr}")
    answer: dict[str, Any] = json.loads(lines[-1])
    return answer


def make_key(data_dir: Path) -> tuple[str, str]:
    """A user, a workspace it owns and an API key of that workspace: (workspace id, key)."""
    _cli(data_dir, "users", "create", "--username", "bench", "--password-stdin",
         stdin="bench password\n")  # fmt: skip
    workspace = _cli(data_dir, "workspaces", "create", "--name", "bench", "--owner", "bench")
    workspace_id: str = workspace["workspace_id"]
    issued = _cli(data_dir, "api-keys", "create", "--workspace", workspace_id, "--by", "bench",
                  "--name", "bench", "--scope", SCOPE)  # fmt: skip
    key: str = issued["key"]
    return workspace_id, key


def _latency(samples: list[float]) -> Latency:
    ordered = sorted(samples)
    return Latency(
        count=len(samples), p50_ms=round(percentile(ordered, 0.50), 4),
        p99_ms=round(percentile(ordered, 0.99), 4), mean_ms=round(statistics.fmean(samples), 4),
    )  # fmt: skip


def _timed(conn: Connection, path: str, headers: dict[str, str], count: int) -> list[float]:
    samples = []
    for _ in range(count):
        started = time.perf_counter()
        status, _ = conn.get(path, headers)
        samples.append((time.perf_counter() - started) * 1000)
        if status != 200:
            raise BenchError(f"GET {path} answered {status}")
    return samples


def measure(base: str, as_key: dict[str, str], requests: int) -> tuple[Latency, Latency]:
    """(healthz, api key): sequential, interleaved in rounds of ROUND, after a warm-up."""
    conn = Connection(base)
    try:
        status, body = conn.get(CURRENT, as_key)
        if status != 200 or SCOPE not in json.loads(body)["scopes"]:
            raise BenchError(f"GET {CURRENT} with the key: {status} {body[:300]!r}")
        bad = {**as_key, "Authorization": as_key["Authorization"] + "x"}
        if (refused := conn.get(CURRENT, bad)[0]) != 401:
            raise BenchError(f"GET {CURRENT} with a wrong key answered {refused}, not 401")
        _timed(conn, CURRENT, as_key, WARMUP_REQUESTS)
        _timed(conn, HEALTH, {}, WARMUP_REQUESTS)
        health: list[float] = []
        keyed: list[float] = []
        for n in range(-(-requests // ROUND)):
            size = min(ROUND, requests - n * ROUND)
            runs = [(health, HEALTH, {}), (keyed, CURRENT, as_key)]
            for samples, path, headers in runs if n % 2 else runs[::-1]:
                samples.extend(_timed(conn, path, headers, size))
    finally:
        conn.close()
    return _latency(health), _latency(keyed)


def run_wrk(url: str, headers: dict[str, str], seconds: int) -> Wrk:
    pairs = [f"{name}: {value}" for name, value in headers.items()]
    command = ["wrk", "-t2", "-c32", f"-d{seconds}s", "--latency", "-s", str(LUA), url, "--"]
    done = subprocess.run(
        [*command, *pairs], capture_output=True, text=True, check=False, timeout=seconds + 60
    )
    if done.returncode != 0:
        raise BenchError(f"wrk exited with {done.returncode}:\n{done.stdout}{done.stderr}")
    return parse_wrk(done.stdout)


def throughput(base: str, as_key: dict[str, str], seconds: int) -> tuple[Wrk, Wrk]:
    """(api key, healthz) requests/s, each after a warm-up run."""
    rates = []
    for path, headers in ((CURRENT, as_key), (HEALTH, {})):
        run_wrk(f"{base}{path}", headers, WARMUP_S)
        found = run_wrk(f"{base}{path}", headers, seconds)
        rates.append(found)
        _say(f"wrk GET {path}: {found.rate:,.0f} req/s, p99 {found.p99_ms:.2f} ms")
    return rates[0], rates[1]


def run(args: argparse.Namespace, tmp: Path) -> Result:
    data_dir, port = tmp / "data", free_port()
    base = f"http://127.0.0.1:{port}"
    os.environ["KEYLEDGER_LOG_LEVEL"] = "warning"
    serve = keyledger("serve", "--data-dir", str(data_dir), "--host", "127.0.0.1",
                      "--port", str(port), "--workers", str(args.workers))  # fmt: skip
    try:
        with serving(serve, tmp / "serve.log") as process:
            wait_until(process, tmp / "serve.log", httpx.Request("GET", f"{base}/readyz"))
            workspace_id, key = make_key(data_dir)
            as_key = {"Authorization": f"Bearer {key}", "X-Workspace-Id": workspace_id}
            _say(f"bench_api_keys: {args.requests} requests of each, one at a time")
            healthz, api_key = measure(base, as_key, args.requests)
            wrk = None if args.no_wrk else throughput(base, as_key, args.duration)
    finally:
        stop_leftover_postgres(data_dir / "postgres")
    return Result(
        requests=args.requests, workers=args.workers, healthz=healthz, api_key=api_key,
        added_p50_ms=round(api_key.p50_ms - healthz.p50_ms, 4),
        added_p99_ms=round(api_key.p99_ms - healthz.p99_ms, 4),
        wrk_api_key=wrk[0] if wrk else None, wrk_healthz=wrk[1] if wrk else None,
    )  # fmt: skip


def targets(result: Result) -> dict[str, bool]:
    met = {f"added p50 < {TARGET_ADDED_P50_MS:g} ms": result.added_p50_ms < TARGET_ADDED_P50_MS}
    if result.wrk_api_key and result.wrk_healthz:
        met["no wrk errors"] = result.wrk_api_key.errors + result.wrk_healthz.errors == 0
    return met


def table(result: Result, duration: int) -> list[str]:
    def row(name: str, latency: Latency) -> str:
        return f"  {name:<34}{latency.p50_ms:>8.3f}{latency.p99_ms:>8.3f}{latency.mean_ms:>8.3f}"

    added = f"p50 {result.added_p50_ms:.3f} ms, p99 {result.added_p99_ms:.3f} ms"
    lines = [
        (
            f"sequential, one kept-alive connection, {result.workers} worker: {result.requests}"
            f" requests each after {WARMUP_REQUESTS} warm-up, interleaved in rounds of {ROUND}"
        ),
        f"  {'':<34}{'p50 ms':>8}{'p99 ms':>8}{'mean ms':>8}",
        row(f"GET {HEALTH} (no authentication)", result.healthz),
        row(f"GET {CURRENT} (API key)", result.api_key),
        f"  added by the API key: {added}",
    ]
    for name, wrk in ((CURRENT, result.wrk_api_key), (HEALTH, result.wrk_healthz)):
        if wrk is not None:
            lines.append(
                f"wrk -t2 -c32 -d{duration}s GET {name:<18} {wrk.rate:>9,.0f} req/s"
                f"  p50 {wrk.p50_ms:.2f} ms  p99 {wrk.p99_ms:.2f} ms  {wrk.errors} errors"
            )
    met = targets(result)
    lines += [
        "",
        "targets: " + ", ".join(f"{t} {'ok' if ok else 'MISSED'}" for t, ok in met.items()),
    ]
    return lines


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--requests", type=int, default=5000, help="of each endpoint (5000)")
    parser.add_argument("--workers", type=int, default=1, help="HTTP worker processes (1)")
    parser.add_argument("--duration", type=int, default=10, help="seconds per wrk run (10)")
    parser.add_argument("--no-wrk", action="store_true", help="skip the requests/s runs")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--check", action="store_true", help="exit 1 if a target is missed")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    if not args.no_wrk and shutil.which("wrk") is None:
        _say("bench_api_keys: wrk is not installed; requests/s skipped (apt-get install wrk)")
        args.no_wrk = True
    tmp = Path(tempfile.mkdtemp(prefix="klbench-api-keys-"))
    try:
        result = run(args, tmp)
    except BenchError as error:
        _say(f"bench_api_keys: {error}")
        return 2
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    if args.json:
        print(json.dumps({**asdict(result), "targets": targets(result)}))
    else:
        print("\n".join(table(result, args.duration)))
    return 1 if args.check and not all(targets(result).values()) else 0


if __name__ == "__main__":
    sys.exit(main())
