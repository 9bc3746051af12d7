"""Rate-limiter microbenchmark: what a limit check costs a request, in microseconds.

In one process, no server: `RateLimiter.take` for a key within its limit (the hot path: one
dictionary lookup and store) and for a key over it (no report: counted only), over 10,000
keys; `RateLimits.take` (the service's, with its monotonic clock); and the check as the
token endpoint awaits it (`services.api.rate_limits.enforce`, a coroutine), of which a token
request makes two (its address and its client). Each is the best of --repeat runs of
--calls calls. Target: a token request's two checks cost under 5 microseconds.

Run from the repository root (`make bench-rate-limit`):

    python -m tests.bench.bench_rate_limit [--calls 200000] [--repeat 5] [--json] [--check]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from collections.abc import Callable, Sequence
from types import SimpleNamespace
from typing import Any, Final

from domain.rate_limit import Rate, RateLimiter
from infra.config import Settings
from services.api.rate_limits import enforce
from services.rate_limits import RateLimits

KEYS: Final = [f"10.0.{n // 256}.{n % 256}" for n in range(10_000)]
TARGET_TOKEN_REQUEST_US: Final = 5.0


def _best(run: Callable[[int], None], calls: int, repeat: int) -> float:
    """Microseconds per call, the best of `repeat` runs of `calls` calls."""
    best = float("inf")
    for _ in range(repeat):
        started = time.perf_counter()
        run(calls)
        best = min(best, (time.perf_counter() - started) / calls * 1e6)
    return best


def _limiter_allowed(calls: int) -> None:
    limiter = RateLimiter(Rate(per_second=1e12, burst=1_000_000))
    take, keys, count = limiter.take, KEYS, len(KEYS)
    for n in range(calls):
        take(keys[n % count], n * 1e-6)


def _limiter_refused(calls: int) -> None:
    limiter = RateLimiter(Rate(per_second=1e-6, burst=1))
    take, keys, count = limiter.take, KEYS, len(KEYS)
    for key in keys:
        take(key, 0.0)
    for n in range(calls):
        take(keys[n % count], 1.0)


def _service(calls: int) -> None:
    limits = RateLimits(Settings(), group=None)  # type: ignore[arg-type]  # nothing recorded
    take, keys, count = limits.take, KEYS, len(KEYS)
    for n in range(calls):
        take("source", keys[n % count])


def _enforced(calls: int) -> None:
    authority: Any = SimpleNamespace(limits=RateLimits(Settings(), group=None))  # type: ignore[arg-type]
    request: Any = SimpleNamespace(scope={}, headers={})

    async def loop() -> None:
        keys, count = KEYS, len(KEYS)
        for n in range(calls):
            await enforce(authority, "source", keys[n % count], request)

    asyncio.run(loop())


def measure(calls: int, repeat: int) -> dict[str, float]:
    figures = {
        "limiter take, within the limit": _best(_limiter_allowed, calls, repeat),
        "limiter take, over the limit": _best(_limiter_refused, calls, repeat),
        "service take (monotonic clock)": _best(_service, calls, repeat),
        "await enforce (one check)": _best(_enforced, calls, repeat),
    }
    figures["token request (two checks)"] = 2 * figures["await enforce (one check)"]
    return figures


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--calls", type=int, default=200_000, help="calls per run (200000)")
    parser.add_argument("--repeat", type=int, default=5, help="runs, the best kept (5)")
    parser.add_argument("--json", action="store_true", help="one JSON object on stdout")
    parser.add_argument("--check", action="store_true", help="exit 1 if the target is missed")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    figures = measure(args.calls, args.repeat)
    met = figures["token request (two checks)"] < TARGET_TOKEN_REQUEST_US
    if args.json:
        print(json.dumps({"us_per_call": figures, "target_met": met}))
    else:
        for name, micros in figures.items():
            print(f"{name:<36}{micros:>8.3f} us")
        print(f"target: token request < {TARGET_TOKEN_REQUEST_US:g} us {'ok' if met else 'MISSED'}")
    return 0 if met or not args.check else 1


if __name__ == "__main__":
    sys.exit(main())
