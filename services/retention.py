"""Retention of projection rows (README, "Retention"): `keyledger audit prune` drops
audit_trail rows older than the setting; `keyledger tokens compact` drops the token state of
families over for longer than theirs.

The audit trail is a projection: the log keeps every event, so pruning forgets nothing the
log cannot rebuild (a rebuild brings pruned rows back, and the next prune drops them again).
The append-only trigger lets deletions through only inside `audit_trail_prune()`, and only
of rows older than the cutoff it names; each prune is itself an event, in the same
transaction as the deletion.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Coroutine
from datetime import datetime, timedelta
from typing import Any, Final

import asyncpg
import msgspec

from infra.postgres.event_store import NEW_STREAM, EventStore, StreamAppend
from projections.audit_trail_queries import prune
from projections.token_state_retention import compact
from schemas.envelope import Metadata
from schemas.events import AuditTrailPruned, TokenStateCompacted
from services.authority import Authority
from services.commands import new_events, random_id, utcnow

__all__ = [
    "PruneReport",
    "add_compact_command",
    "add_prune_command",
    "compact_token_state",
    "prune_audit_trail",
]

_METADATA: Final = Metadata(actor="admin", actor_id="cli")


class PruneReport(msgspec.Struct, frozen=True, kw_only=True):
    before: datetime
    rows: int
    retention_days: int


async def prune_audit_trail(
    pool: asyncpg.Pool, store: EventStore, retention_days: int, now: datetime | None = None
) -> PruneReport:
    """Drop audit rows that occurred more than `retention_days` before `now`; record it."""
    now = now or utcnow()
    cutoff = now - timedelta(days=retention_days)
    async with pool.acquire() as conn, conn.transaction():
        rows = await prune(conn, cutoff)
        event = AuditTrailPruned(before=cutoff, rows=rows, retention_days=retention_days)
        stream = f"audit-{random_id()}"
        await store.append_all(
            [StreamAppend(stream, NEW_STREAM, new_events([event], _METADATA, now))], conn=conn
        )
    store.committed()
    return PruneReport(before=cutoff, rows=rows, retention_days=retention_days)


async def compact_token_state(
    pool: asyncpg.Pool, store: EventStore, retention_days: int, now: datetime | None = None
) -> PruneReport:
    """Drop the token state of families whose every token expired `retention_days` before
    `now`, in short batches; then record it."""
    now = now or utcnow()
    cutoff = now - timedelta(days=retention_days)
    async with pool.acquire() as conn:
        rows = await compact(conn, cutoff)
    event = TokenStateCompacted(before=cutoff, rows=rows, retention_days=retention_days)
    appended = new_events([event], _METADATA, now)
    await store.append_all([StreamAppend(f"audit-{random_id()}", NEW_STREAM, appended)])
    return PruneReport(before=cutoff, rows=rows, retention_days=retention_days)


Body = Callable[[Authority], Coroutine[Any, Any, int]]


def add_prune_command(audit_commands: Any, run: Callable[[argparse.Namespace, Body], int]) -> None:
    """Add `prune` under `keyledger audit`; `run` opens an Authority as the admin commands do."""

    def handler(args: argparse.Namespace) -> int:
        async def body(authority: Authority) -> int:
            days = authority.settings.audit_retention_days
            if days is None:
                print(  # noqa: T201 (the command's own output)
                    "keyledger: KEYLEDGER_AUDIT_RETENTION_DAYS is not set: audit rows are kept"
                    " forever, nothing to prune",
                    file=sys.stderr,
                )
                return 2
            report = await prune_audit_trail(authority.pool, authority.store, days)
            if args.json:
                print(msgspec.json.encode(report).decode())  # noqa: T201
            else:
                print(  # noqa: T201
                    f"pruned {report.rows} audit rows older than {report.before.isoformat()}"
                    f" ({days} days); the log keeps every event"
                )
            return 0

        return run(args, body)

    command = audit_commands.add_parser(
        "prune", help="drop audit_trail rows older than KEYLEDGER_AUDIT_RETENTION_DAYS"
    )
    command.set_defaults(handler=handler)
    command.add_argument("--json", action="store_true")
    command.add_argument("--data-dir")


def add_compact_command(commands: Any, run: Callable[[argparse.Namespace, Body], int]) -> None:
    """Add `keyledger tokens compact`."""

    def handler(args: argparse.Namespace) -> int:
        async def body(authority: Authority) -> int:
            days = authority.settings.token_state_retention_days
            report = await compact_token_state(authority.pool, authority.store, days)
            if args.json:
                print(msgspec.json.encode(report).decode())  # noqa: T201
            else:
                print(  # noqa: T201
                    f"dropped {report.rows} token state rows of families over before"
                    f" {report.before.isoformat()} ({days} days); the log keeps every event"
                )
            return 0

        return run(args, body)

    tokens = commands.add_parser("tokens", help="token state upkeep")
    actions = tokens.add_subparsers(dest="action", required=True)
    command = actions.add_parser(
        "compact",
        help="drop token state of families expired over KEYLEDGER_TOKEN_STATE_RETENTION_DAYS ago",
    )
    command.set_defaults(handler=handler)
    command.add_argument("--json", action="store_true")
    command.add_argument("--data-dir")
