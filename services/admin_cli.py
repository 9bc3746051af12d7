"""`keyledger clients|users|keys`: administration from a shell, one function per subcommand.

Each command runs against the same database and master key as `keyledger serve` (the
runner from services.cli builds the Authority exactly as the server does). Exit codes:
0 done, 1 refused (unknown client or user, taken username, a change that does not apply),
2 bad arguments. Secrets go to stdout once and nowhere else; passwords come from stdin.
Workspaces and their API keys are services/workspace_cli.py's.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from schemas.http.management import (
    ClientCreated,
    ClientRegistrationRequest,
    ClientSummary,
    UserCreation,
    UserErasure,
    UserUpdated,
)
from services import administration
from services.administration import StatusAction
from services.authority import Authority
from services.clients import registration_problems
from services.connections_cli import add_connection_commands
from services.subcommand import (
    METADATA,
    SHOWN_ONCE,
    Runner,
    UsageError,
    emit,
    guarded,
    handler,
    leaf,
)
from services.workspace_cli import add_expiring_command, add_workspace_commands

__all__ = ["add_admin_commands"]


def _read_password() -> str:
    """The password from stdin, minus one trailing newline: never from argv (ps, history)."""
    text = sys.stdin.read()
    password = text.removesuffix("\n").removesuffix("\r")
    if not password:
        raise UsageError("no password on stdin")
    return password


def _scope_reason(text: str) -> tuple[str, str]:
    scope, sep, reason = text.partition("=")
    if not sep or not scope or not reason:
        raise argparse.ArgumentTypeError(f"expected SCOPE=TEXT, got {text!r}")
    return scope, reason


def cmd_clients_create(args: argparse.Namespace, run: Runner) -> int:
    request = ClientRegistrationRequest(
        name=args.name,
        grant_types=tuple(args.grant_types),
        scopes=tuple(args.scopes),
        redirect_uris=tuple(args.redirect_uris),
        confidential=not args.public,
        require_pkce=args.require_pkce,
        token_format="opaque" if args.opaque else "jwt",
        access_token_ttl=args.access_ttl,
        refresh_token_ttl=args.refresh_ttl,
        scope_reasons=dict(args.scope_reasons),
        review_scopes=tuple(args.review_scopes),
    )
    problems = registration_problems(request)
    if problems:
        raise UsageError("; ".join(problems))

    async def body(authority: Authority) -> int:
        created: ClientCreated = await administration.create_client(authority, request, METADATA)
        human = [f"client_id: {created.client_id}"]
        if created.client_secret is not None:
            human.append(f"client_secret: {created.client_secret}  {SHOWN_ONCE}")
        emit(args, created, human)
        return 0

    return run(args, guarded(body))


def _describe(client: ClientSummary) -> str:
    kind = "confidential" if client.confidential else "public"
    grants = ",".join(client.grant_types)
    return f"{client.client_id}  {client.status:<9}  {kind:<12}  {grants:<40}  {client.name}"


def cmd_clients_list(args: argparse.Namespace, run: Runner) -> int:
    async def body(authority: Authority) -> int:
        listing = await administration.list_clients(authority)
        emit(args, listing, [_describe(client) for client in listing.clients] or ["no clients"])
        return 0

    return run(args, guarded(body))


def cmd_clients_rotate_secret(args: argparse.Namespace, run: Runner) -> int:
    async def body(authority: Authority) -> int:
        rotated = await administration.rotate_client_secret(
            authority, args.client_id, args.overlap, METADATA
        )
        emit(args, rotated, [f"client_secret: {rotated.client_secret}  {SHOWN_ONCE}"])
        return 0

    return run(args, guarded(body))


def cmd_clients_status(args: argparse.Namespace, run: Runner, action: StatusAction) -> int:
    async def body(authority: Authority) -> int:
        client = await administration.change_client_status(
            authority, args.client_id, action, args.reason, METADATA
        )
        emit(args, client, [f"{client.client_id} is now {client.status}"])
        return 0

    return run(args, guarded(body))


def cmd_users_create(args: argparse.Namespace, run: Runner) -> int:
    request = UserCreation(
        username=args.username,
        password=_read_password(),
        otp=args.otp,
        service_account=args.service_account,
        password_ttl_days=args.password_ttl_days,
    )

    async def body(authority: Authority) -> int:
        created = await administration.create_user(authority, request, METADATA)
        human = [f"user_id: {created.user_id}"]
        if created.otp_uri is not None:
            human += [f"otp_secret: {created.otp_secret}  {SHOWN_ONCE}", created.otp_uri]
        emit(args, created, human)
        return 0

    return run(args, guarded(body))


def cmd_users_set_password(args: argparse.Namespace, run: Runner) -> int:
    password = _read_password()

    async def body(authority: Authority) -> int:
        user_id = await administration.change_password(
            authority, args.username, password, args.password_ttl_days, METADATA
        )
        emit(args, UserUpdated(user_id=user_id, username=args.username), ["password changed"])
        return 0

    return run(args, guarded(body))


def cmd_users_enable_otp(args: argparse.Namespace, run: Runner) -> int:
    async def body(authority: Authority) -> int:
        enrolled = await administration.enrol_otp(authority, args.username, METADATA)
        human = [f"otp_secret: {enrolled.otp_secret}  {SHOWN_ONCE}", enrolled.otp_uri]
        emit(args, enrolled, human)
        return 0

    return run(args, guarded(body))


def cmd_users_disable(args: argparse.Namespace, run: Runner) -> int:
    async def body(authority: Authority) -> int:
        user_id = await administration.disable_user(authority, args.username, args.reason, METADATA)
        emit(args, UserUpdated(user_id=user_id, username=args.username), ["user disabled"])
        return 0

    return run(args, guarded(body))


def cmd_users_revoke_tokens(args: argparse.Namespace, run: Runner) -> int:
    async def body(authority: Authority) -> int:
        user_id = await administration.revoke_user_tokens(
            authority, args.username, args.reason, METADATA
        )
        emit(args, UserUpdated(user_id=user_id, username=args.username), ["tokens revoked"])
        return 0

    return run(args, guarded(body))


def cmd_users_erase(args: argparse.Namespace, run: Runner) -> int:
    async def body(authority: Authority) -> int:
        user_id = await administration.erase_user(authority, args.username, args.reason, METADATA)
        # The username is not echoed: it is what was just forgotten.
        emit(args, UserErasure(user_id=user_id, erased=True), [f"user {user_id} erased"])
        return 0

    return run(args, guarded(body))


def cmd_keys_revoke(args: argparse.Namespace, run: Runner) -> int:
    async def body(authority: Authority) -> int:
        revoked = await administration.revoke_signing_key(
            authority, args.kid, args.reason, METADATA
        )
        human = [f"revoked signing key: {revoked.kid}"]
        human += [f"new signing key: {kid}" for kid in revoked.kids]
        emit(args, revoked, human)
        return 0

    return run(args, guarded(body))


def cmd_keys_rotate(args: argparse.Namespace, run: Runner) -> int:
    async def body(authority: Authority) -> int:
        rotated = await administration.rotate_signing_keys(authority, METADATA)
        emit(args, rotated, [f"new signing key: {kid}" for kid in rotated.kids])
        return 0

    return run(args, guarded(body))


def _add_clients(commands: Any, run: Runner) -> None:
    group = commands.add_parser("clients", help="register and manage OAuth clients")
    actions = group.add_subparsers(dest="action", required=True)
    create = leaf(actions, "create", "register a client", handler(cmd_clients_create, run))
    create.add_argument("--name", required=True)
    create.add_argument("--grant-type", dest="grant_types", action="append", required=True)
    create.add_argument("--scope", dest="scopes", action="append", default=[])
    create.add_argument("--redirect-uri", dest="redirect_uris", action="append", default=[])
    create.add_argument("--public", action="store_true", help="no secret; PKCE required")
    create.add_argument("--require-pkce", action=argparse.BooleanOptionalAction, default=True)
    create.add_argument("--access-ttl", type=int, default=3600, metavar="SECONDS")
    create.add_argument("--refresh-ttl", type=int, default=2_592_000, metavar="SECONDS")
    create.add_argument("--opaque", action="store_true", help="opaque access tokens, not JWTs")
    create.add_argument(
        "--scope-reason", dest="scope_reasons", action="append", default=[], type=_scope_reason,
        metavar="SCOPE=TEXT", help="why the client needs a scope (shown on consent)",
    )  # fmt: skip
    create.add_argument("--review-scope", dest="review_scopes", action="append", default=[])
    leaf(actions, "list", "list clients (never secrets)", handler(cmd_clients_list, run))
    rotate = leaf(
        actions, "rotate-secret", "issue a new secret", handler(cmd_clients_rotate_secret, run)
    )
    rotate.add_argument("client_id")
    rotate.add_argument(
        "--overlap", type=int, metavar="SECONDS", help="how long the old secret keeps working"
    )
    statuses: tuple[StatusAction, ...] = ("suspend", "reinstate", "ban")
    for action in statuses:
        change = leaf(
            actions, action, f"{action} a client", handler(cmd_clients_status, run, action=action)
        )
        change.add_argument("client_id")
        change.add_argument("--reason", default="")


def _add_users(commands: Any, run: Runner) -> None:
    group = commands.add_parser("users", help="create and manage user accounts")
    actions = group.add_subparsers(dest="action", required=True)
    create = leaf(actions, "create", "create a user", handler(cmd_users_create, run))
    password = leaf(
        actions, "set-password", "replace a password", handler(cmd_users_set_password, run)
    )
    for parser in (create, password):
        parser.add_argument("--username", required=True)
        parser.add_argument(
            "--password-stdin", action="store_true", required=True,
            help="read the password from stdin (one trailing newline is dropped)",
        )  # fmt: skip
        parser.add_argument("--password-ttl-days", type=int, metavar="D")
    create.add_argument("--otp", action="store_true", help="enrol TOTP and print its URI")
    create.add_argument("--service-account", action="store_true")
    otp = leaf(actions, "enable-otp", "enrol TOTP", handler(cmd_users_enable_otp, run))
    otp.add_argument("--username", required=True)
    disable = leaf(actions, "disable", "disable a user", handler(cmd_users_disable, run))
    revoke = leaf(
        actions, "revoke-tokens", "revoke every token of a user (the account stays usable)",
        handler(cmd_users_revoke_tokens, run),
    )  # fmt: skip
    erase = leaf(
        actions, "erase", "forget a user's personal data (disables the account, revokes tokens)",
        handler(cmd_users_erase, run),
    )  # fmt: skip
    for parser in (disable, revoke, erase):
        parser.add_argument("--username", required=True)
        parser.add_argument("--reason", default="")


def add_admin_commands(commands: Any, run: Runner) -> None:
    """Add `clients`, `users`, `keys`, `workspaces`, `api-keys`, `providers` and `connections`
    to the `keyledger` commands."""
    _add_clients(commands, run)
    _add_users(commands, run)
    keys = commands.add_parser("keys", help="token signing keys; API keys about to expire")
    actions = keys.add_subparsers(dest="action", required=True)
    leaf(actions, "rotate", "make a new key pair current", handler(cmd_keys_rotate, run))
    revoke = leaf(
        actions, "revoke", "distrust a key: out of the JWKS, every token it signed revoked",
        handler(cmd_keys_revoke, run),
    )  # fmt: skip
    revoke.add_argument("kid")
    revoke.add_argument("--reason", default="")
    add_expiring_command(actions, run)
    add_workspace_commands(commands, run)
    add_connection_commands(commands, run)
