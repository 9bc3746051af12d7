"""`keyledger providers|connections`: upstream providers, connected accounts and the token
vault from a shell. No output ever holds an upstream token or a client secret; a client
secret is read from stdin only. Exit codes: 0 done, 1 refused, 2 bad arguments."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Awaitable, Callable
from typing import Any

import msgspec

from domain.provider import MAX_INTERVAL_S
from projections import connection_queries
from schemas.http.connections import ConnectionList, KeyRotated, ProviderList, ProviderRequest
from services.authority import Authority
from services.connections import providers, upkeep, views
from services.connections.connector import Connector, open_connector
from services.refusals import Refused
from services.subcommand import METADATA, Runner, UsageError, emit, guarded, handler, leaf
from services.users import user_id_of

__all__ = ["add_connection_commands"]


def _seconds(text: str) -> int:
    value = int(text)
    if not 0 <= value <= MAX_INTERVAL_S:
        raise argparse.ArgumentTypeError(f"0 to {MAX_INTERVAL_S} seconds, got {value}")
    return value


async def _with_connector(authority: Authority, work: Callable[[Connector], Awaitable[int]]) -> int:
    connector = open_connector(authority.settings, authority.pool, authority.store)
    try:
        return await work(connector)
    finally:
        await connector.close()


async def _user_id(authority: Authority, username: str) -> str:
    user_id = await user_id_of(authority.pool, username) if len(username) <= 255 else None
    if user_id is None:
        raise Refused("not_found", f"no user {username!r}")
    return user_id


def _request(args: argparse.Namespace) -> ProviderRequest:
    secret = None
    if args.client_secret_stdin:
        secret = sys.stdin.read().removesuffix("\n").removesuffix("\r")
        if not secret:
            raise UsageError("no client secret on stdin")
    if args.issuer is None and (args.authorization_endpoint is None or args.token_endpoint is None):
        raise UsageError("give --issuer, or --authorization-endpoint and --token-endpoint")
    return ProviderRequest(
        name=args.name, client_id=args.client_id, client_secret=secret,
        client_auth=args.client_auth, issuer=args.issuer,
        authorization_endpoint=args.authorization_endpoint, token_endpoint=args.token_endpoint,
        revocation_endpoint=args.revocation_endpoint,
        introspection_endpoint=args.introspection_endpoint,
        userinfo_endpoint=args.userinfo_endpoint, jwks_uri=args.jwks_uri,
        scopes=list(args.scopes), refresh_margin_s=args.refresh_margin,
        max_token_age_s=args.max_token_age or None,
        health_check_interval_s=args.health_check_interval or None,
        refresh_reuse=args.refresh_reuse,
    )  # fmt: skip


def _acting(args: argparse.Namespace) -> None:
    if args.workspace and not args.by:
        raise UsageError("--workspace needs --by USERNAME, the Owner or Admin who acts")


def cmd_providers_register(args: argparse.Namespace, run: Runner) -> int:
    request = _request(args)
    _acting(args)

    async def body(authority: Authority) -> int:
        async def work(connector: Connector) -> int:
            acting = await _user_id(authority, args.by) if args.workspace else None
            view = await providers.register_provider(
                connector, request, METADATA, workspace_id=args.workspace, acting_user=acting
            )
            emit(args, view, [f"provider_id: {view.provider_id}", f"name: {view.name}"])
            return 0

        return await _with_connector(authority, work)

    return run(args, guarded(body))


def cmd_providers_list(args: argparse.Namespace, run: Runner) -> int:
    async def body(authority: Authority) -> int:
        async def work(connector: Connector) -> int:
            found = await providers.providers_of(connector, args.workspace)
            human = [f"{p.provider_id}  {p.name}  {p.token_endpoint}" for p in found]
            emit(args, ProviderList(providers=found), human or ["no providers"])
            return 0

        return await _with_connector(authority, work)

    return run(args, guarded(body))


def cmd_providers_remove(args: argparse.Namespace, run: Runner) -> int:
    _acting(args)

    async def body(authority: Authority) -> int:
        async def work(connector: Connector) -> int:
            acting = await _user_id(authority, args.by) if args.workspace else None
            await providers.remove_provider(
                connector, args.provider_id, METADATA, workspace_id=args.workspace,
                acting_user=acting, reason=args.reason,
            )  # fmt: skip
            emit(args, ProviderList(providers=[]), [f"{args.provider_id}: removed"])
            return 0

        return await _with_connector(authority, work)

    return run(args, guarded(body))


def _line(view: Any) -> str:
    expires = (
        view.access_expires_at.isoformat(timespec="seconds") if view.access_expires_at else "-"
    )
    owner = f"workspace {view.workspace_id}" if view.workspace_id else f"user {view.user_id}"
    return f"{view.connection_id}  {view.status:<22}  {view.provider:<16}  {expires}  {owner}"


def cmd_connections_list(args: argparse.Namespace, run: Runner) -> int:
    async def body(authority: Authority) -> int:
        async def work(connector: Connector) -> int:
            user = await _user_id(authority, args.user) if args.user else None
            found = await views.listed(connector, user_id=user, workspace_id=args.workspace)
            emit(args, ConnectionList(connections=found), [_line(v) for v in found] or ["none"])
            return 0

        return await _with_connector(authority, work)

    return run(args, guarded(body))


def cmd_connections_show(args: argparse.Namespace, run: Runner) -> int:
    async def body(authority: Authority) -> int:
        async def work(connector: Connector) -> int:
            async with connector.pool.acquire() as conn:
                row = await connection_queries.connection(conn, args.connection_id[:64])
            if row is None:
                raise Refused("not_found", f"no connection {args.connection_id!r}")
            view = views.connection_view(row)
            fields = msgspec.structs.asdict(view)
            emit(args, view, [f"{name}: {value}" for name, value in fields.items()])
            return 0

        return await _with_connector(authority, work)

    return run(args, guarded(body))


def cmd_connections_revoke(args: argparse.Namespace, run: Runner) -> int:
    async def body(authority: Authority) -> int:
        async def work(connector: Connector) -> int:
            await upkeep.disconnect(
                connector, args.connection_id[:64], cause="operator", reason=args.reason,
                metadata=METADATA,
            )  # fmt: skip
            async with connector.pool.acquire() as conn:
                row = await connection_queries.connection(conn, args.connection_id)
            assert row is not None
            view = views.connection_view(row)
            emit(args, view, [_line(view)])
            return 0

        return await _with_connector(authority, work)

    return run(args, guarded(body))


def cmd_rotate_key(args: argparse.Namespace, run: Runner) -> int:
    async def body(authority: Authority) -> int:
        async def work(connector: Connector) -> int:
            rotation = await connector.vault.rotate(authority.store, METADATA)
            answer = KeyRotated(
                kid=rotation.kid, retired=rotation.retired, reencrypted=rotation.reencrypted
            )
            human = [
                f"current key: {rotation.kid}",
                f"tokens encrypted again: {rotation.reencrypted}",
                f"retired: {', '.join(rotation.retired) or 'none'}",
            ]
            emit(args, answer, human)
            return 0

        return await _with_connector(authority, work)

    return run(args, guarded(body))


def _add_register(actions: Any, run: Runner) -> None:
    register = leaf(
        actions, "register", "register a provider (endpoints by discovery or given)",
        handler(cmd_providers_register, run),
    )  # fmt: skip
    register.add_argument("--name", required=True)
    register.add_argument("--issuer", help="discover the endpoints from its metadata")
    for endpoint in ("authorization", "token", "revocation", "introspection", "userinfo"):
        register.add_argument(f"--{endpoint}-endpoint", metavar="URL")
    register.add_argument("--jwks-uri", metavar="URL")
    register.add_argument("--client-id", required=True)
    register.add_argument("--client-secret-stdin", action="store_true")
    register.add_argument(
        "--client-auth", default="client_secret_basic",
        choices=("client_secret_basic", "client_secret_post", "none"),
    )  # fmt: skip
    register.add_argument("--scope", dest="scopes", action="append", default=[], metavar="S")
    register.add_argument("--refresh-margin", type=_seconds, default=300, metavar="SECONDS")
    register.add_argument("--max-token-age", type=_seconds, default=0, metavar="SECONDS")
    register.add_argument("--health-check-interval", type=_seconds, default=3600, metavar="S")
    register.add_argument("--refresh-reuse", choices=("one_time", "reusable"), default="one_time")
    register.add_argument("--workspace", metavar="ID", help="the workspace's own provider")
    register.add_argument("--by", metavar="USERNAME", help="the Owner or Admin who registers")


def add_connection_commands(commands: Any, run: Runner) -> None:
    """Add `providers` and `connections` to the `keyledger` subcommands."""
    group = commands.add_parser("providers", help="upstream providers accounts connect from")
    actions = group.add_subparsers(dest="action", required=True)
    _add_register(actions, run)
    listing = leaf(actions, "list", "list providers", handler(cmd_providers_list, run))
    listing.add_argument("--workspace", metavar="ID")
    remove = leaf(actions, "remove", "no new connections", handler(cmd_providers_remove, run))
    remove.add_argument("provider_id")
    remove.add_argument("--workspace", metavar="ID")
    remove.add_argument("--by", metavar="USERNAME")
    remove.add_argument("--reason", default="")

    group = commands.add_parser("connections", help="connected third-party accounts")
    actions = group.add_subparsers(dest="action", required=True)
    listing = leaf(
        actions, "list", "connections and their status", handler(cmd_connections_list, run)
    )
    owner = listing.add_mutually_exclusive_group()
    owner.add_argument("--user", metavar="USERNAME")
    owner.add_argument("--workspace", metavar="ID")
    show = leaf(actions, "show", "one connection's status", handler(cmd_connections_show, run))
    show.add_argument("connection_id")
    revoke = leaf(
        actions, "revoke", "end a connection (the provider revokes its tokens)",
        handler(cmd_connections_revoke, run),
    )  # fmt: skip
    revoke.add_argument("connection_id")
    revoke.add_argument("--reason", default="")
    leaf(
        actions, "rotate-key", "a new vault key; every token encrypted again; old keys destroyed",
        handler(cmd_rotate_key, run),
    )  # fmt: skip
