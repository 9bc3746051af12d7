"""What bench_oauth measured, against its targets: the rounds, a table, or one JSON object.

A round is a ceiling run and an issuance run back to back; a target on issuance is judged on
the median round, and every round is shown.
"""

from __future__ import annotations

import argparse
import statistics
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any, Final

if TYPE_CHECKING:
    from tests.bench.bench_oauth import Wrk

__all__ = ["Outcome", "Round", "as_json", "table", "targets"]

ISSUED: Final = "access_token_issued"
TARGET_ISSUANCE: Final = 3000.0
TARGET_RATIO: Final = 0.42
TARGET_INTROSPECTION: Final = 5000.0
TARGET_P99_MS: Final = 50.0


@dataclass(frozen=True)
class Round:
    ceiling: Wrk
    issuance: Wrk

    @property
    def ratio(self) -> float:
        """Issuance req/s over the ceiling's, measured moments apart."""
        return self.issuance.rate / self.ceiling.rate if self.ceiling.rate else 0.0

    @property
    def cpu_ratio(self) -> float:
        """The ceiling's CPU per request over issuance's: the share of the ceiling, load aside."""
        return self.ceiling.cpu_us / self.issuance.cpu_us if self.issuance.cpu_us else 0.0


@dataclass(frozen=True)
class Outcome:
    rounds: list[Round]
    introspection: Wrk
    answered_2xx: int  # token requests answered 2xx, warmups and runs
    appended: int  # access_token_issued events appended meanwhile

    @property
    def median(self) -> dict[str, float]:
        """Each issuance figure's median over the rounds (rounds may differ in which is median)."""
        rounds = self.rounds
        return {
            "issuance_rate": statistics.median(r.issuance.rate for r in rounds),
            "ratio": statistics.median(r.ratio for r in rounds),
            "cpu_ratio": statistics.median(r.cpu_ratio for r in rounds),
            "issuance_p99_ms": statistics.median(r.issuance.p99_ms for r in rounds),
        }


def targets(outcome: Outcome | list[Wrk]) -> dict[str, bool]:
    if isinstance(outcome, list):  # the ceiling alone
        return {"no errors": sum(run.errors for run in outcome) == 0}
    median, introspection = outcome.median, outcome.introspection
    runs = [run for r in outcome.rounds for run in (r.ceiling, r.issuance)] + [introspection]
    p99 = max(median["issuance_p99_ms"], introspection.p99_ms)
    return {
        f"issuance >= {TARGET_ISSUANCE:,.0f}/s": median["issuance_rate"] >= TARGET_ISSUANCE,
        f"issuance >= {TARGET_RATIO:.0%} of ceiling": median["ratio"] >= TARGET_RATIO,
        f"introspection >= {TARGET_INTROSPECTION:,.0f}/s": introspection.rate
        >= TARGET_INTROSPECTION,
        f"p99 < {TARGET_P99_MS:g} ms": p99 < TARGET_P99_MS,
        "no errors": sum(run.errors for run in runs) == 0,
        "every 2xx appended": outcome.appended >= outcome.answered_2xx,
    }


CPU_NOTE: Final = (
    "CPU µs: CPU the server spent per request (its processes, PostgreSQL's and NATS's); the"
    " ratio of those figures moves far less than req/s when other work shares the machine"
)
_HEADER: Final = (
    f"{'run':<30}{'req/s':>9}{'/ceiling':>9}{'p50 ms':>8}{'p99 ms':>8}"
    f"{'2xx':>9}{'non-2xx':>8}{'socket':>7}{'CPU µs':>8}"
)


def _row(name: str, run: Wrk, ratio: str = "-") -> str:
    return (
        f"{name:<30}{run.rate:>9,.0f}{ratio:>9}{run.p50_ms:>8.2f}{run.p99_ms:>8.2f}"
        f"{run.ok:>9,}{run.non_2xx:>8,}{run.socket_errors:>7,}{run.cpu_us:>8,.0f}"
    )


def table(args: argparse.Namespace, outcome: Outcome | list[Wrk]) -> list[str]:
    config = (
        f"wrk -t2 -c{args.connections} -d{args.duration}s --latency, {args.workers} workers,"
        f" {args.rounds} rounds"
    )
    lines = [config, _HEADER, "-" * len(_HEADER)]
    if isinstance(outcome, list):
        lines += [_row(f"ceiling {i}", run) for i, run in enumerate(outcome, 1)]
    else:
        for i, r in enumerate(outcome.rounds, 1):
            lines.append(_row(f"{i}: ceiling (parse, token JSON)", r.ceiling))
            lines.append(_row(f"{i}: issuance, client_credentials", r.issuance, f"{r.ratio:.0%}"))
        median = outcome.median
        lines += [
            _row("introspection", outcome.introspection),
            "",
            (
                f"median of {len(outcome.rounds)} rounds: issuance"
                f" {median['issuance_rate']:,.0f}/s, {median['ratio']:.0%} of the ceiling"
                f" (CPU: {median['cpu_ratio']:.0%}), p99 {median['issuance_p99_ms']:.2f} ms"
            ),
            CPU_NOTE,
            (
                f"durability: {outcome.answered_2xx:,} token requests answered 2xx (warmups"
                f" and runs), {outcome.appended:,} {ISSUED} events appended"
            ),
        ]
    met = targets(outcome)
    lines += [
        "",
        "targets: " + ", ".join(f"{t} {'ok' if ok else 'MISSED'}" for t, ok in met.items()),
    ]
    if not met["no errors"]:
        lines.append("!!! requests failed (non-2xx answers or socket errors): see the table")
    if not met.get("every 2xx appended", True):
        lines.append(f"!!! fewer {ISSUED} events than tokens answered 2xx")
    return lines


def as_json(args: argparse.Namespace, outcome: Outcome | list[Wrk]) -> dict[str, Any]:
    config = {"threads": 2, "connections": args.connections, "duration_s": args.duration}
    figures: dict[str, Any] = {"config": {**config, "workers": args.workers, "rounds": args.rounds}}
    if isinstance(outcome, list):
        figures["ceiling"] = [asdict(run) for run in outcome]
    else:
        figures["rounds"] = [
            {
                "ceiling": asdict(r.ceiling),
                "issuance": asdict(r.issuance),
                "ratio_to_ceiling": round(r.ratio, 3),
                "cpu_ratio_to_ceiling": round(r.cpu_ratio, 3),
            }
            for r in outcome.rounds
        ]
        figures["median"] = {k: round(v, 3) for k, v in outcome.median.items()}
        figures["introspection"] = asdict(outcome.introspection)
        figures["durability"] = {"answered_2xx": outcome.answered_2xx, "appended": outcome.appended}
    figures["targets"] = targets(outcome)
    return figures
