"""The `keyledger` command: one function per subcommand, wired with argparse."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import sys
from collections.abc import Callable, Coroutine, Sequence
from datetime import timedelta
from pathlib import Path
from typing import Any

import asyncpg
import msgspec

from infra.config import ConfigError, Settings, load_settings
from infra.crypto.personal_data import PersonalData
from infra.crypto.sealing import SealError
from infra.embedded import running_nats_url
from infra.logging import configure_logging
from infra.postgres.audit_checkpoints import CHECKPOINTER
from infra.postgres.notify import Notifier
from projections import ASYNC, BY_NAME
from schemas.jsonschema import events_schema, revocations_schema
from services.admin_cli import add_admin_commands
from services.archive_replay import rebuild_with_archives
from services.archive_source import ArchiveFormatError, archive_files
from services.audit_cli import add_audit_commands
from services.authority import open_authority, open_sealer
from services.console_cli import add_console_commands
from services.log_cli import add_log_commands
from services.projector import projection_status
from services.relay import RELAY_CHECKPOINT, republish_from
from services.retention import add_compact_command
from services.servers import Servers, prepare_database, prepare_stream, start_servers
from services.subcommand import Body
from services.supervisor import Supervised
from services.watch import WatchError, watch_revocations
from services.worker import PARENT_ENV, run_worker

__all__ = ["main"]

# How long `serve` gives NATS to create the stream before it serves anyway.
_NATS_AT_START_S = 5.0


def _run(coroutine: Coroutine[Any, Any, Any]) -> Any:
    try:
        import uvloop  # noqa: PLC0415 (optional speed-up, absent on some platforms)
    except ImportError:
        return asyncio.run(coroutine)
    return uvloop.run(coroutine)


def _settings(args: argparse.Namespace) -> Settings:
    overrides = {
        "data_dir": getattr(args, "data_dir", None),
        "host": getattr(args, "host", None),
        "port": getattr(args, "port", None),
        "workers": getattr(args, "workers", None),
    }
    return load_settings(overrides=overrides)


def _with_pool(
    args: argparse.Namespace, body: Callable[[asyncpg.Pool], Coroutine[Any, Any, int]]
) -> int:
    """Run `body` against the configured (or embedded) database, migrated first."""
    servers = start_servers(_settings(args), with_nats=False)
    url = servers.settings.database_url
    assert url is not None

    async def go() -> int:
        await prepare_database(url, servers.settings.event_partition_size)
        async with asyncpg.create_pool(url, min_size=1, max_size=4) as pool:
            return await body(pool)

    try:
        code: int = _run(go())
        return code
    finally:
        servers.stop()


def _with_authority(args: argparse.Namespace, body: Body) -> int:
    """Run `body` with an Authority built exactly as `keyledger serve` builds its own."""
    settings = _settings(args)

    async def with_authority(pool: asyncpg.Pool) -> int:
        # The running server's followers wake on NOTIFY, not only on their next poll.
        notifier = Notifier(pool)
        try:
            return await body(await open_authority(settings, pool, wake=notifier))
        except SealError:
            print(
                "keyledger: this master key does not open the database's signing keys; use the"
                " server's KEYLEDGER_MASTER_KEY or --data-dir",
                file=sys.stderr,
            )
            return 2
        finally:
            await notifier.close()

    return _with_pool(args, with_authority)


def cmd_serve(args: argparse.Namespace) -> int:
    # Imported here: only `serve` needs the HTTP server.
    from granian import Granian  # noqa: PLC0415
    from granian.constants import Interfaces, Loops  # noqa: PLC0415

    settings = _settings(args)
    configure_logging(settings.log_format, settings.log_level)
    servers = start_servers(settings)
    resolved = servers.settings
    assert resolved.database_url is not None
    assert resolved.nats_url is not None
    _run(prepare_database(resolved.database_url, resolved.event_partition_size))
    if not _run(prepare_stream(resolved, timeout=_NATS_AT_START_S)):
        # Serving does not need NATS: the worker creates the stream once NATS answers.
        print("keyledger: NATS does not answer yet; serving without it", file=sys.stderr)
    # API workers and the worker process read their settings from the environment: they
    # must see the command line's too, or they would use another data dir (another
    # master.key) and another issuer URL than this process and the admin CLI.
    env = {
        **os.environ,
        "KEYLEDGER_DATABASE_URL": resolved.database_url,
        "KEYLEDGER_NATS_URL": resolved.nats_url,
        "KEYLEDGER_DATA_DIR": resolved.data_dir,
        "KEYLEDGER_HOST": resolved.host,
        "KEYLEDGER_PORT": str(resolved.port),
        # Each worker enforces its share of the rate limits (DECISIONS 20).
        "KEYLEDGER_WORKERS": str(resolved.workers),
    }
    os.environ.update(env)
    # The relay and projector follow the log asynchronously: under load they yield the CPU
    # to requests and catch up after (their lag is a metric). Started again if it dies.
    worker = Supervised(
        [sys.executable, "-m", "services.cli", "worker"],
        {**env, PARENT_ENV: str(os.getpid())},
        name="worker",
        nice=5,
    )
    worker.start()
    try:
        Granian(
            # RSGI: the hot endpoints skip ASGI's per-message cost (services/api/rsgi.py).
            "services.api.rsgi:create_server_app",
            factory=True,
            interface=Interfaces.RSGI,
            address=resolved.host,
            port=resolved.port,
            workers=resolved.workers,
            loop=Loops.uvloop,
            log_access=False,
            # A worker that crashes or is killed is replaced; the others serve meanwhile.
            respawn_failed_workers=True,
        ).serve()
    finally:
        worker.stop()
        servers.stop()
    return 0


def cmd_worker(args: argparse.Namespace) -> int:
    settings = _settings(args)
    configure_logging(settings.log_format, settings.log_level)
    servers: Servers = start_servers(settings)
    try:
        _run(run_worker(servers.settings))
    except KeyboardInterrupt:
        pass
    finally:
        servers.stop()
    return 0


def cmd_migrate(args: argparse.Namespace) -> int:
    async def body(pool: asyncpg.Pool) -> int:
        del pool  # prepare_database already ran
        print("migrations applied; schema is current")
        return 0

    return _with_pool(args, body)


def cmd_projections_status(args: argparse.Namespace) -> int:
    async def body(pool: asyncpg.Pool) -> int:
        async with pool.acquire() as conn:
            rows = [
                await projection_status(conn, name)
                for name in [RELAY_CHECKPOINT, *(p.name for p in ASYNC), CHECKPOINTER]
            ]
        if args.json:
            print(msgspec.json.encode(rows).decode())
        else:
            for row in rows:
                print(
                    f"{row.name:<20} at {row.checkpoint_position:>12} of {row.last_position:<12}"
                    f" lag {row.lag_seconds:.3f}s"
                )
        return 0

    return _with_pool(args, body)


def cmd_projections_rebuild(args: argparse.Namespace) -> int:
    projection = BY_NAME.get(args.name)
    if projection is None or projection.inline:
        print(f"unknown async projection {args.name!r}; known: {', '.join(sorted(BY_NAME))}")
        return 2

    try:
        archives = archive_files(args.archive)
    except ArchiveFormatError as error:
        print(f"keyledger: {error}", file=sys.stderr)
        return 2
    settings = _settings(args)

    async def body(pool: asyncpg.Pool) -> int:
        # Personal values are opened as they are replayed: an erased person's read redacted.
        personal = PersonalData(pool, open_sealer(settings))
        count = await rebuild_with_archives(pool, projection, archives, personal=personal)
        where = f" and {len(archives)} archive files" if archives else ""
        print(f"{projection.name} rebuilt from position 0{where}: {count} events replayed")
        return 0

    return _with_pool(args, body)


def cmd_relay_republish(args: argparse.Namespace) -> int:
    async def body(pool: asyncpg.Pool) -> int:
        target = await republish_from(pool, args.from_position)
        print(f"relay rewound to position {target.global_position}; the worker resends from there")
        return 0

    return _with_pool(args, body)


def cmd_schema_events(_args: argparse.Namespace) -> int:
    sys.stdout.write(msgspec.json.format(msgspec.json.encode(events_schema())).decode() + "\n")
    return 0


def cmd_schema_revocations(_args: argparse.Namespace) -> int:
    schema = revocations_schema()
    sys.stdout.write(msgspec.json.format(msgspec.json.encode(schema)).decode() + "\n")
    return 0


def cmd_watch_revocations(args: argparse.Namespace) -> int:
    settings = _settings(args)
    # Beside `keyledger serve` on the same data dir: its embedded NATS, never a second one.
    url = settings.nats_url or running_nats_url(Path(settings.data_dir).expanduser() / "nats")
    if url is None:
        print(
            "keyledger: no NATS to watch: set KEYLEDGER_NATS_URL or run keyledger serve",
            file=sys.stderr,
        )
        return 1
    since = None if args.since is None else timedelta(seconds=args.since)
    watching = watch_revocations(
        url, stream=settings.nats_stream, prefix=settings.subject_prefix, out=sys.stdout,
        as_json=args.json, since=since,
    )  # fmt: skip
    try:
        with contextlib.suppress(KeyboardInterrupt):
            _run(watching)
    except WatchError as error:
        print(f"keyledger: {error}", file=sys.stderr)
        return 1
    return 0


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="keyledger", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)

    def add(name: str, handler: Callable[[argparse.Namespace], int], help_: str) -> Any:
        sub = commands.add_parser(name, help=help_)
        sub.set_defaults(handler=handler)
        sub.add_argument("--data-dir", help="where embedded servers keep their data")
        return sub

    serve = add("serve", cmd_serve, "run the API, relay and projector")
    serve.add_argument("--host")
    serve.add_argument("--port", type=int)
    serve.add_argument("--workers", type=int, help="HTTP worker processes")
    add("worker", cmd_worker, "run the relay and the projector only")
    add("migrate", cmd_migrate, "apply database migrations")

    projections = commands.add_parser("projections", help="inspect and rebuild read models")
    projection_commands = projections.add_subparsers(dest="action", required=True)
    status = projection_commands.add_parser("status", help="checkpoint and lag of each follower")
    status.set_defaults(handler=cmd_projections_status)
    status.add_argument("--json", action="store_true")
    status.add_argument("--data-dir")
    rebuild_cmd = projection_commands.add_parser("rebuild", help="drop and replay from 0")
    rebuild_cmd.set_defaults(handler=cmd_projections_rebuild)
    rebuild_cmd.add_argument("name")
    rebuild_cmd.add_argument(
        "--archive", action="append", default=[], metavar="PATH",
        help="archive files (or a directory of them) of partitions the log no longer holds",
    )  # fmt: skip
    rebuild_cmd.add_argument("--data-dir")

    relay = commands.add_parser("relay", help="the outbox relay to NATS")
    relay_commands = relay.add_subparsers(dest="action", required=True)
    republish = relay_commands.add_parser("republish", help="resend events from a position")
    republish.set_defaults(handler=cmd_relay_republish)
    republish.add_argument("--from", dest="from_position", type=int, required=True)
    republish.add_argument("--data-dir")

    schema = commands.add_parser("schema", help="generated contracts")
    schema_commands = schema.add_subparsers(dest="action", required=True)
    schema_commands.add_parser("events", help="JSON Schema of published events").set_defaults(
        handler=cmd_schema_events
    )
    schema_commands.add_parser(
        "revocations", help="JSON Schema of published revocations"
    ).set_defaults(handler=cmd_schema_revocations)
    watch = commands.add_parser("watch", help="follow what keyledger publishes")
    watched = watch.add_subparsers(dest="action", required=True)
    revocations = watched.add_parser("revocations", help="print revocations as they happen")
    revocations.set_defaults(handler=cmd_watch_revocations)
    revocations.add_argument("--since", type=float, metavar="SECONDS", help="replay this far back")
    revocations.add_argument("--json", action="store_true", help="the published JSON, one a line")
    revocations.add_argument("--data-dir")
    audit = commands.add_parser("audit", help="prove the log is intact")
    audit_commands = audit.add_subparsers(dest="action", required=True)
    add_audit_commands(audit_commands, _with_pool, _with_authority)
    add_log_commands(commands, _with_pool, _with_authority)
    add_compact_command(commands, _with_authority)
    add_admin_commands(commands, _with_authority)
    add_console_commands(commands, _with_authority)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        code: int = args.handler(args)
    except ConfigError as error:
        print(f"keyledger: {error}", file=sys.stderr)
        return 2
    return code


if __name__ == "__main__":
    sys.exit(main())
