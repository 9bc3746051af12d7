"""`keyledger log partitions|archive`: the log's range partitions, and archiving old ones.

Exit codes: 0 done (what stayed, and why, is printed), 2 bad arguments or an archive file
that failed its check against the database (its partition is kept).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import asyncpg
import msgspec

from infra.postgres import partitions
from services.audit_cli import AuthorityRunner, PoolRunner, instant
from services.authority import Authority
from services.log_archive import ArchiveFormatError, archive_before

__all__ = ["add_log_commands"]


class _Listed(msgspec.Struct, frozen=True):
    name: str
    lower: int
    upper: int


def _partitions(run: PoolRunner) -> Callable[[argparse.Namespace], int]:
    def command(args: argparse.Namespace) -> int:
        async def body(pool: asyncpg.Pool) -> int:
            async with pool.acquire() as conn:
                found = await partitions.list_partitions(conn)
            if args.json:
                listed = [_Listed(p.name, p.lower, p.upper) for p in found]
                sys.stdout.write(msgspec.json.encode(listed).decode() + "\n")
            for partition in [] if args.json else found:
                last = partition.upper - 1
                sys.stdout.write(f"{partition.name}\tpositions {partition.lower} to {last}\n")
            return 0

        return run(args, body)

    return command


def _archive(run: AuthorityRunner) -> Callable[[argparse.Namespace], int]:
    def command(args: argparse.Namespace) -> int:
        async def body(authority: Authority) -> int:
            directory = Path(args.to or Path(authority.settings.data_dir) / "archive")
            try:
                report = await archive_before(
                    authority.pool, authority.store, args.before, directory.expanduser()
                )
            except ArchiveFormatError as error:
                sys.stderr.write(f"keyledger: {error}\n")
                return 2
            if args.json:
                sys.stdout.write(msgspec.json.encode(report).decode() + "\n")
            else:
                for done in report.archived:
                    sys.stdout.write(
                        f"archived {done.partition} ({done.events} events, positions"
                        f" {done.lower} to {done.upper - 1}) to {done.file}\n"
                    )
                if report.stopped is not None:
                    sys.stdout.write(f"stopped: {report.stopped}\n")
            return 0

        return run(args, body)

    return command


def add_log_commands(commands: Any, with_pool: PoolRunner, with_authority: AuthorityRunner) -> None:
    log = commands.add_parser("log", help="the event log's partitions and archives")
    actions = log.add_subparsers(dest="action", required=True)
    listed = actions.add_parser("partitions", help="the range partitions of the log")
    listed.set_defaults(handler=_partitions(with_pool))
    listed.add_argument("--json", action="store_true")
    listed.add_argument("--data-dir", help="where embedded servers keep their data")
    archive = actions.add_parser(
        "archive", help="export old partitions to files, check them, then drop them"
    )
    archive.set_defaults(handler=_archive(with_authority))
    archive.add_argument(
        "--before", required=True, type=instant, help="archive partitions whose events all"
        " occurred before this ISO 8601 date or time (UTC without an offset)",
    )  # fmt: skip
    archive.add_argument("--to", help="directory of the archive files (default <data dir>/archive)")
    archive.add_argument("--json", action="store_true")
    archive.add_argument("--data-dir", help="where embedded servers keep their data")
