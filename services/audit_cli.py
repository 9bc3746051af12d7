"""`keyledger audit verify|checkpoint|export|verify-export`: one function per subcommand.

Exit codes: 0 intact (or done), 1 a break or a failing row was found, 2 bad arguments or a
file that cannot be read. `verify-export` needs no database and starts no server.
"""

from __future__ import annotations

import argparse
import contextlib
import sys
from collections.abc import Callable, Coroutine, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TextIO

import asyncpg
import msgspec

from domain.audit_checkpoint import CheckpointBreak
from schemas.audit_checkpoint import AuditCheckpoint
from services.archive_source import ArchiveFormatError, archive_files
from services.audit import AuditReport, audit_log
from services.audit_export import ExportWriter, export_user
from services.authority import Authority
from services.checkpointer import seal_segment
from services.commands import utcnow
from services.export_verifier import ExportFormatError, ExportVerdict, verify_export
from services.keys import ACCESS_ALG
from services.retention import add_prune_command

__all__ = ["AuthorityRunner", "PoolRunner", "add_audit_commands", "instant"]

PoolRunner = Callable[[argparse.Namespace, Callable[[asyncpg.Pool], Coroutine[Any, Any, int]]], int]
AuthorityRunner = Callable[
    [argparse.Namespace, Callable[[Authority], Coroutine[Any, Any, int]]], int
]


def _say(text: str, stream: TextIO | None = None) -> None:
    (stream or sys.stdout).write(text + "\n")


def _complain(message: str) -> int:
    _say(f"keyledger: {message}", sys.stderr)
    return 2


def instant(text: str) -> datetime:
    """An ISO 8601 date or date-time; without an offset it is taken as UTC."""
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an ISO 8601 date or time: {text!r}") from None
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def _verify(run: PoolRunner) -> Callable[[argparse.Namespace], int]:
    def command(args: argparse.Namespace) -> int:
        async def body(pool: asyncpg.Pool) -> int:
            try:
                report = await audit_log(pool, archive_files(args.archive))
            except ArchiveFormatError as error:
                return _complain(str(error))
            if args.json:
                _say(msgspec.json.encode(report).decode())
            else:
                _print_report(report)
            return 0 if report.intact else 1

        return run(args, body)

    return command


def _print_report(report: AuditReport) -> None:
    for problem in report.archive_problems:
        _say(f"archive altered: {problem}")
    for place in report.located:
        _say(f"in archive: {place}")
    for missing in report.archives_missing:
        _say(f"not checked: archived to {missing}; give it with --archive")
    for found in report.breaks:
        _say(
            f"{found.kind}: {found.stream_id} version {found.stream_version}"
            f" (position {found.global_position}, event {found.event_id}): {found.detail}"
        )
    if not report.breaks:
        # Chains alone cannot see a stream's last event removed: "log intact" needs both.
        _say(
            f"{'log' if report.intact else 'hash chains'} intact: {report.events} events in"
            f" {report.streams} streams, up to position {report.last_position}"
        )
    for broken in report.checkpoint_breaks:
        _say(_describe(broken))
    if report.intact:
        later = report.not_checkpointed
        tail = f"; {later} later events not yet checkpointed" if later else ""
        _say(
            f"log intact up to position {report.checkpointed_up_to}"
            f" ({report.checkpoints} checkpoints){tail}"
        )
    else:
        count = len(report.breaks) + len(report.checkpoint_breaks)
        _say(f"log NOT intact: {count} breaks found")


def _describe(found: CheckpointBreak) -> str:
    where = f"{found.kind}: checkpoint {found.checkpoint}"
    if found.stream_id is not None:
        where += f", {found.stream_id} version {found.stream_version}"
    if found.global_position is not None:
        event = f", event {found.event_id}" if found.event_id is not None else ""
        where += f" (position {found.global_position}{event})"
    return f"{where}: {found.detail}"


def _checkpoint(run: AuthorityRunner) -> Callable[[argparse.Namespace], int]:
    def command(args: argparse.Namespace) -> int:
        async def body(authority: Authority) -> int:
            signer = authority.keys.signer(ACCESS_ALG)
            sealed: list[AuditCheckpoint] = []
            async with authority.pool.acquire() as conn:
                while checkpoint := await seal_segment(
                    conn,
                    signer,
                    issuer=authority.issuer,
                    max_events=authority.settings.checkpoint_events,
                ):
                    sealed.append(checkpoint)
            if args.json:
                _say(msgspec.json.encode(sealed).decode())
            for checkpoint in [] if args.json else sealed:
                _say(
                    f"sealed checkpoint {checkpoint.seq}: {checkpoint.event_count} events,"
                    f" positions {checkpoint.first_position} to {checkpoint.last_position},"
                    f" root {checkpoint.merkle_root}"
                )
            if not sealed and not args.json:
                _say("nothing to seal: every committed event is checkpointed")
            return 0

        return run(args, body)

    return command


def _export(run: AuthorityRunner) -> Callable[[argparse.Namespace], int]:
    def command(args: argparse.Namespace) -> int:
        if args.start and args.end and args.start >= args.end:
            return _complain("--from must be before --to")
        target = Path(args.out) if args.out else None
        partial = target.with_name(target.name + ".partial") if target else None

        async def body(authority: Authority) -> int:
            with contextlib.ExitStack() as stack:
                out = sys.stdout
                if partial is not None:
                    out = stack.enter_context(partial.open("w", encoding="utf-8", newline=""))
                summary = await export_user(
                    authority.pool,
                    ExportWriter(out, args.format),
                    user=args.user,
                    start=args.start,
                    end=args.end,
                    now=utcnow(),
                    personal=authority.personal,
                )
            if target is not None and partial is not None:
                partial.replace(target)  # a reader never sees half an export under the name
            _say(
                f"exported {summary.events} events of {args.user!r}: {summary.checkpointed}"
                f" under {summary.checkpoints} checkpoints, {summary.not_yet_checkpointed} not"
                f" yet checkpointed, {summary.not_in_checkpoint} no longer as checkpointed",
                sys.stderr,
            )
            return 1 if summary.not_in_checkpoint else 0

        try:
            return run(args, body)
        except OSError as error:
            if partial is not None:
                with contextlib.suppress(OSError):
                    partial.unlink()
            return _complain(f"cannot write the export: {error}")

    return command


def _read_jwks(path: str) -> list[Mapping[str, object]]:
    try:
        document = msgspec.json.decode(Path(path).read_bytes())
    except (OSError, msgspec.MsgspecError) as error:
        raise ExportFormatError(f"--jwks {path}: {error}") from None
    keys = document.get("keys") if isinstance(document, dict) else document
    if not isinstance(keys, list) or not all(isinstance(key, dict) for key in keys):
        raise ExportFormatError(f'--jwks {path}: expected a JWKS, {{"keys": [...]}}')
    return keys


def cmd_verify_export(args: argparse.Namespace) -> int:
    try:
        jwks = _read_jwks(args.jwks) if args.jwks else None
        with Path(args.file).open(encoding="utf-8", newline="") as lines:
            verdict = verify_export(lines, jwks)
    except (OSError, UnicodeDecodeError, ExportFormatError) as error:
        return _complain(str(error))
    if args.json:
        _say(msgspec.json.encode(verdict).decode())
    else:
        _print_verdict(verdict)
    return 0 if verdict.verified else 1


def _print_verdict(verdict: ExportVerdict) -> None:
    for problem in verdict.checkpoint_failures:
        _say(problem)
    for failure in verdict.failures:
        event = ""
        if failure.global_position is not None:
            event = f" (position {failure.global_position}, event {failure.event_id})"
        _say(f"line {failure.line}{event}: {failure.problem}")
    keys = "the keys given with --jwks"
    if verdict.keys == "embedded":
        # Keys from the file itself prove integrity, not origin: the auditor's JWKS does both.
        keys = "the export's own keys (pass --jwks with the published ones to prove who signed)"
    if verdict.verified:
        _say(
            f"export verified: {verdict.events} events of {verdict.user!r}; {verdict.proven}"
            f" proven by {verdict.checkpoints} signed checkpoints, {verdict.not_yet_checkpointed}"
            f" not yet checkpointed (hash only); signatures checked with {keys}"
        )
    else:
        bad = len(verdict.failures)
        _say(
            f"export NOT verified: {bad} of {verdict.events} rows and"
            f" {len(verdict.checkpoint_failures)} checkpoints fail"
        )


def add_audit_commands(
    audit_commands: Any,
    with_pool: PoolRunner,
    with_authority: AuthorityRunner,
    data_dir_help: str = "where embedded servers keep their data",
) -> None:
    """The `audit` subcommands, on the `audit` parser's subparsers."""

    def add(name: str, handler: Callable[[argparse.Namespace], int], help_: str) -> Any:
        sub = audit_commands.add_parser(name, help=help_)
        sub.set_defaults(handler=handler)
        return sub

    verify = add("verify", _verify(with_pool), "recompute every hash chain, check checkpoints")
    verify.add_argument("--json", action="store_true")
    verify.add_argument(
        "--archive", action="append", default=[], metavar="PATH",
        help="an archive file or directory of them (`keyledger log archive`); repeats",
    )  # fmt: skip
    verify.add_argument("--data-dir", help=data_dir_help)
    checkpoint = add("checkpoint", _checkpoint(with_authority), "seal pending events now")
    checkpoint.add_argument("--json", action="store_true")
    checkpoint.add_argument("--data-dir", help=data_dir_help)
    export = add("export", _export(with_authority), "a user's events with offline proofs")
    export.add_argument("--user", required=True, help="the subject user id")
    export.add_argument("--from", dest="start", type=instant, help="occurred at or after")
    export.add_argument("--to", dest="end", type=instant, help="occurred before")
    export.add_argument("--format", choices=("ndjson", "csv"), default="ndjson")
    export.add_argument("--out", help="file to write (default: standard output)")
    export.add_argument("--data-dir", help=data_dir_help)
    add_prune_command(audit_commands, with_authority)
    offline = add("verify-export", cmd_verify_export, "check an export offline")
    offline.add_argument("file")
    offline.add_argument("--jwks", help="the service's published JWKS (JSON file)")
    offline.add_argument("--json", action="store_true")
