"""Revocation benchmark: revoke request to downstream refusal, and local validation speed.

1. Latency. `keyledger serve` (1 worker, its embedded PostgreSQL and NATS on a temporary data
   dir, or KEYLEDGER_DATABASE_URL / KEYLEDGER_NATS_URL) and the example resource server
   (`tests/downstream/service.py`) as a separate process. For each of --revocations access
   tokens, one after the other: the downstream accepts it (200), then the clock starts,
   `DELETE /oauth/token/{jti}` is sent to keyledger, and the same downstream request is
   repeated until it is refused (401); the latency is from sending the revocation to that
   refusal. Targets: p50 < 5 ms, p99 < 25 ms.
2. Validation. The helper in this process, pinned to one core, with 100,000 revocations
   held: `AccessTokens.validate` over 1,000 live tokens, first sight (signature and claims
   checked) and then again (kept from first sight, revocations checked on every call).
   Target: >= 20,000 validations/s.

Run from the repository root (`make bench-revocations`):

    python -m tests.bench.bench_revocations [--revocations 1000] [--json] [--check]
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import http.client
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Final
from urllib.parse import urlsplit

import httpx

from infra.config import load_settings
from infra.embedded import running_nats_url
from infra.resource_server.access_tokens import (
    AccessTokens,
    InvalidToken,
    ResourceServerSettings,
)
from schemas.revocations import TokenRevocation, UserRevocation
from tests.bench.bench_oauth import (
    BenchError,
    create_client,
    free_port,
    keyledger,
    serving,
    stop_leftover_postgres,
    wait_until,
)

TARGET_P50_MS: Final = 5.0
TARGET_P99_MS: Final = 25.0
TARGET_VALIDATIONS: Final = 20_000.0
HELD_REVOCATIONS: Final = 100_000
VALIDATION_TOKENS: Final = 1000
WARM_ROUNDS: Final = 50
REFUSAL_TIMEOUT_S: Final = 10.0
POLL_PAUSE_S: Final = 0.0002


def _say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


@dataclass(frozen=True)
class Latency:
    count: int
    p50_ms: float
    p99_ms: float
    max_ms: float
    mean_ms: float
    # Of which the revocation request itself (until keyledger answered 204), median.
    request_p50_ms: float


@dataclass(frozen=True)
class Validation:
    held_revocations: int
    first_sight_per_s: float
    again_per_s: float


def _percentile(ordered: list[float], q: float) -> float:
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def _jti(token: str) -> str:
    payload = token.split(".")[1]
    claims: dict[str, Any] = json.loads(
        base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))
    )
    return str(claims["jti"])


def _issue(client: httpx.Client, base: str, credentials: str, count: int) -> list[str]:
    headers = {"Authorization": f"Basic {credentials}"}
    issued = []
    for _ in range(count):
        answer = client.post(
            f"{base}/oauth/token", data={"grant_type": "client_credentials", "scope": "read"},
            headers=headers,
        )  # fmt: skip
        if answer.status_code != 200:
            raise BenchError(f"token request: {answer.status_code} {answer.text[:300]}")
        issued.append(answer.json()["access_token"])
    return issued


class _Connection:
    """A kept-alive HTTP/1.1 connection: the stdlib client costs about a millisecond less per
    request than httpx here, which would otherwise be most of what is measured."""

    def __init__(self, base: str) -> None:
        parts = urlsplit(base)
        self._conn = http.client.HTTPConnection(parts.hostname or "", parts.port, timeout=10)

    def call(self, method: str, path: str, headers: dict[str, str]) -> int:
        self._conn.request(method, path, headers=headers)
        response = self._conn.getresponse()
        response.read()
        return response.status

    def close(self) -> None:
        self._conn.close()


def measure_latency(
    base: str, downstream: str, credentials: str, count: int
) -> tuple[Latency, list[float]]:
    basic = {"Authorization": f"Basic {credentials}"}
    samples: list[float] = []
    requests: list[float] = []
    with httpx.Client(timeout=10) as client:
        tokens = _issue(client, base, credentials, count)
    keyledger_http, downstream_http = _Connection(base), _Connection(downstream)
    try:
        for n, token in enumerate(tokens, 1):
            bearer = {"Authorization": f"Bearer {token}"}
            if downstream_http.call("GET", "/invoices", bearer) != 200:
                raise BenchError("the downstream refused a live token")
            started = time.perf_counter()
            status = keyledger_http.call("DELETE", f"/oauth/token/{_jti(token)}", basic)
            if status != 204:
                raise BenchError(f"revocation answered {status}")
            requests.append((time.perf_counter() - started) * 1000)
            while downstream_http.call("GET", "/invoices", bearer) != 401:
                if time.perf_counter() - started > REFUSAL_TIMEOUT_S:
                    raise BenchError(f"token {n} still accepted after {REFUSAL_TIMEOUT_S:g} s")
                # Not a busy loop: on two cores, polling flat out would starve the relay.
                time.sleep(POLL_PAUSE_S)
            samples.append((time.perf_counter() - started) * 1000)
            if n % 200 == 0:
                _say(f"... {n} revocations, p50 so far {statistics.median(samples):.2f} ms")
    finally:
        keyledger_http.close()
        downstream_http.close()
    ordered = sorted(samples)
    latency = Latency(
        count=len(samples), p50_ms=_percentile(ordered, 0.50), p99_ms=_percentile(ordered, 0.99),
        max_ms=ordered[-1], mean_ms=statistics.fmean(samples),
        request_p50_ms=statistics.median(requests),
    )  # fmt: skip
    return latency, samples


def _filler(count: int) -> list[TokenRevocation | UserRevocation]:
    """Revocations of other tokens and users: what a busy resource server holds."""
    now = datetime.now(UTC)
    later = now + timedelta(hours=1)
    held: list[TokenRevocation | UserRevocation] = []
    for n in range(count):
        common = {"event_id": uuid.uuid4(), "global_position": n, "occurred_at": now,
                  "expires_at": later, "cause": "bench"}  # fmt: skip
        if n % 2:
            held.append(TokenRevocation(jti=uuid.uuid4().hex, **common))  # type: ignore[arg-type]
        else:
            held.append(UserRevocation(user_id=uuid.uuid4().hex, issued_before=now, **common))  # type: ignore[arg-type]
    return held


async def measure_validation(settings: ResourceServerSettings, tokens: list[str]) -> Validation:
    helper = await AccessTokens.open(settings)
    try:
        for revocation in _filler(HELD_REVOCATIONS):
            helper.apply(revocation)
        started = time.perf_counter()
        for token in tokens:
            await helper.validate(token)
        first = len(tokens) / (time.perf_counter() - started)
        started = time.perf_counter()
        for _ in range(WARM_ROUNDS):
            for token in tokens:
                await helper.validate(token)
        again = WARM_ROUNDS * len(tokens) / (time.perf_counter() - started)
        try:
            await helper.validate(tokens[0] + "x")
        except InvalidToken:
            pass
        else:
            raise BenchError("an altered token was accepted")
        return Validation(len(helper.revocations), round(first), round(again))
    finally:
        await helper.close()


def run(args: argparse.Namespace, tmp: Path) -> tuple[Latency, Validation]:
    data_dir, port, downstream_port = tmp / "data", free_port(), free_port()
    base, downstream = f"http://127.0.0.1:{port}", f"http://127.0.0.1:{downstream_port}"
    settings = load_settings(overrides={"data_dir": str(data_dir)})
    env_overrides = {"KEYLEDGER_ISSUER": base, "KEYLEDGER_LOG_LEVEL": "warning"}
    os.environ.update(env_overrides)
    serve = keyledger("serve", "--data-dir", str(data_dir), "--host", "127.0.0.1",
                      "--port", str(port), "--workers", "1")  # fmt: skip
    try:
        with serving(serve, tmp / "serve.log") as process:
            wait_until(process, tmp / "serve.log", httpx.Request("GET", f"{base}/readyz"))
            nats_url = settings.nats_url or running_nats_url(data_dir / "nats")
            if nats_url is None:
                raise BenchError("cannot find the NATS keyledger serve uses")
            credentials = create_client(data_dir)
            os.environ.update({
                "KEYLEDGER_NATS_URL": nats_url, "KEYLEDGER_NATS_STREAM": settings.nats_stream,
                "KEYLEDGER_SUBJECT_PREFIX": settings.subject_prefix,
                "DOWNSTREAM_CONSUMER": f"bench-{uuid.uuid4().hex[:8]}",
            })  # fmt: skip
            service = [sys.executable, "-m", "tests.downstream.service", "--port",
                       str(downstream_port)]  # fmt: skip
            with serving(service, tmp / "downstream.log") as downstream_process:
                wait_until(
                    downstream_process, tmp / "downstream.log",
                    httpx.Request("GET", f"{downstream}/healthz"),
                )  # fmt: skip
                _say(f"bench_revocations: {args.revocations} revocations, one at a time")
                latency, _ = measure_latency(base, downstream, credentials, args.revocations)
            with httpx.Client(timeout=10) as client:
                live = _issue(client, base, credentials, VALIDATION_TOKENS)
            helper_settings = ResourceServerSettings(
                issuer=base, nats_url=nats_url, consumer=f"bench-{uuid.uuid4().hex[:8]}",
                nats_stream=settings.nats_stream, subject_prefix=settings.subject_prefix,
            )  # fmt: skip
            _say("bench_revocations: local validation on one core")
            with one_core():
                validation = asyncio.run(measure_validation(helper_settings, live))
    finally:
        stop_leftover_postgres(data_dir / "postgres")
    return latency, validation


@contextlib.contextmanager
def one_core() -> Iterator[None]:
    """Pin this process to one CPU for the duration (Linux)."""
    before = os.sched_getaffinity(0)
    os.sched_setaffinity(0, {max(before)})
    try:
        yield
    finally:
        os.sched_setaffinity(0, before)


def targets(latency: Latency, validation: Validation) -> dict[str, bool]:
    return {
        f"p50 < {TARGET_P50_MS:g} ms": latency.p50_ms < TARGET_P50_MS,
        f"p99 < {TARGET_P99_MS:g} ms": latency.p99_ms < TARGET_P99_MS,
        f">= {TARGET_VALIDATIONS:,.0f} validations/s": validation.again_per_s >= TARGET_VALIDATIONS,
    }


def table(latency: Latency, validation: Validation) -> list[str]:
    met = targets(latency, validation)
    return [
        f"revoke request -> downstream refusal, {latency.count} revocations on loopback:",
        (
            f"  p50 {latency.p50_ms:.2f} ms   p99 {latency.p99_ms:.2f} ms"
            f"   max {latency.max_ms:.2f} ms   mean {latency.mean_ms:.2f} ms"
        ),
        f"  of which the revocation request itself: p50 {latency.request_p50_ms:.2f} ms",
        f"local validation, one core, {validation.held_revocations:,} revocations held:",
        f"  first sight (signature + claims) {validation.first_sight_per_s:>10,.0f} /s",
        f"  seen before (revocations only)   {validation.again_per_s:>10,.0f} /s",
        "",
        "targets: " + ", ".join(f"{t} {'ok' if ok else 'MISSED'}" for t, ok in met.items()),
    ]


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--revocations", type=int, default=1000, help="how many (1000)")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--check", action="store_true", help="exit 1 if a target is missed")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    tmp = Path(tempfile.mkdtemp(prefix="klbench-revocations-"))
    try:
        latency, validation = run(args, tmp)
    except BenchError as error:
        _say(f"bench_revocations: {error}")
        return 2
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    if args.json:
        met = targets(latency, validation)
        print(
            json.dumps(
                {"latency": asdict(latency), "validation": asdict(validation), "targets": met}
            )
        )
    else:
        print("\n".join(table(latency, validation)))
    return 1 if args.check and not all(targets(latency, validation).values()) else 0


if __name__ == "__main__":
    sys.exit(main())
