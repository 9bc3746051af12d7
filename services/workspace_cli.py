"""`keyledger workspaces|api-keys`, and `keys expiring`: workspaces from a shell.

An operator acts for a user named by `--by` (or `--owner`, `--user`): the domain checks that
user's role exactly as it does for the HTTP API, so a Member asking for an API key is refused
(exit 1, with the reason). A new or rotated key is printed once; listings never hold one.
"""

from __future__ import annotations

import argparse
from datetime import datetime, timedelta
from typing import Any, Final

import msgspec

from schemas.http.management import WorkspaceUpdated
from schemas.http.workspaces import ApiKeyIssued, WorkspaceCreated
from services import administration, workspace_queries, workspaces
from services.authority import Authority
from services.refusals import Refused
from services.sso_cli import add_sso_commands
from services.subcommand import METADATA, SHOWN_ONCE, Runner, emit, guarded, handler, leaf
from services.users import user_id_of
from services.workspace_queries import KeySummary, Member
from services.workspaces import NewKey

__all__ = ["add_expiring_command", "add_workspace_commands"]

_MAX_DAYS: Final = 3650


class MemberChanged(msgspec.Struct, frozen=True, kw_only=True):
    workspace_id: str
    user_id: str
    username: str
    role: str | None  # None once removed
    status: str  # invited, active, removed


class WorkspaceMembers(msgspec.Struct, frozen=True, kw_only=True):
    workspace_id: str
    members: list[Member]


class WorkspaceKeys(msgspec.Struct, frozen=True, kw_only=True):
    workspace_id: str
    keys: list[KeySummary]


class ExpiringKeys(msgspec.Struct, frozen=True, kw_only=True):
    within_days: int
    keys: list[KeySummary]


def _days(text: str) -> int:
    days = int(text)
    if not 0 <= days <= _MAX_DAYS:
        raise argparse.ArgumentTypeError(f"0 to {_MAX_DAYS} days, got {days}")
    return days


async def _user_id(authority: Authority, username: str) -> str:
    user_id = await user_id_of(authority.pool, username) if len(username) <= 255 else None
    if user_id is None:
        raise Refused("not_found", f"no user {username!r}")
    return user_id


async def _members(authority: Authority, workspace_id: str) -> list[Member]:
    """Its members; every workspace has its Owner, so none means no such workspace."""
    found = await workspace_queries.members(authority.pool, workspace_id)
    if not found:
        raise Refused("not_found", f"no workspace {workspace_id!r}")
    return found


def _at(instant: datetime | None) -> str:
    return "never" if instant is None else instant.isoformat(timespec="seconds")


async def _changed(
    authority: Authority, workspace_id: str, user_id: str, username: str
) -> MemberChanged:
    """The member as they are now (workspace tables are inline: read-your-writes)."""
    rows = await workspace_queries.members(authority.pool, workspace_id)
    row = next((m for m in rows if m.user_id == user_id), None)
    return MemberChanged(
        workspace_id=workspace_id, user_id=user_id, username=username,
        role=row.role if row else None, status=row.status if row else "removed",
    )  # fmt: skip


def _emit_member(args: argparse.Namespace, changed: MemberChanged) -> None:
    role = f" ({changed.role})" if changed.role else ""
    emit(args, changed, [f"{changed.username}{role}: {changed.status}"])


def cmd_create(args: argparse.Namespace, run: Runner) -> int:
    async def body(authority: Authority) -> int:
        workspace_id = await workspaces.create_workspace(
            authority, args.name, await _user_id(authority, args.owner), METADATA,
            default_key_days=args.default_key_days, max_key_days=args.max_key_days,
            unlimited_keys=args.unlimited_keys,
        )  # fmt: skip
        created = WorkspaceCreated(workspace_id=workspace_id, name=args.name)
        emit(args, created, [f"workspace_id: {workspace_id}"])
        return 0

    return run(args, guarded(body))


def cmd_invite(args: argparse.Namespace, run: Runner) -> int:
    async def body(authority: Authority) -> int:
        actor, user = await _user_id(authority, args.by), await _user_id(authority, args.user)
        await workspaces.invite(
            authority, args.workspace_id, actor, user, role=args.role, metadata=METADATA
        )
        _emit_member(args, await _changed(authority, args.workspace_id, user, args.user))
        return 0

    return run(args, guarded(body))


def cmd_accept(args: argparse.Namespace, run: Runner) -> int:
    async def body(authority: Authority) -> int:
        user = await _user_id(authority, args.user)
        await workspaces.accept_invitation(authority, args.workspace_id, user, METADATA)
        _emit_member(args, await _changed(authority, args.workspace_id, user, args.user))
        return 0

    return run(args, guarded(body))


def cmd_set_role(args: argparse.Namespace, run: Runner) -> int:
    async def body(authority: Authority) -> int:
        actor, user = await _user_id(authority, args.by), await _user_id(authority, args.user)
        await workspaces.change_role(
            authority, args.workspace_id, actor, user, role=args.role, metadata=METADATA
        )
        _emit_member(args, await _changed(authority, args.workspace_id, user, args.user))
        return 0

    return run(args, guarded(body))


def cmd_remove_member(args: argparse.Namespace, run: Runner) -> int:
    async def body(authority: Authority) -> int:
        actor, user = await _user_id(authority, args.by), await _user_id(authority, args.user)
        await workspaces.remove_member(authority, args.workspace_id, actor, user, METADATA)
        _emit_member(args, await _changed(authority, args.workspace_id, user, args.user))
        return 0

    return run(args, guarded(body))


def cmd_members(args: argparse.Namespace, run: Runner) -> int:
    async def body(authority: Authority) -> int:
        found = await _members(authority, args.workspace_id)
        human = [
            f"{m.user_id}  {m.role:<6}  {m.status:<7}  {_at(m.since)}  {m.username or '-'}"
            for m in found
        ]
        emit(args, WorkspaceMembers(workspace_id=args.workspace_id, members=found), human)
        return 0

    return run(args, guarded(body))


def cmd_revoke_tokens(args: argparse.Namespace, run: Runner) -> int:
    async def body(authority: Authority) -> int:
        workspace_id = await administration.revoke_workspace_tokens(
            authority, args.workspace_id, args.reason, METADATA
        )
        emit(args, WorkspaceUpdated(workspace_id=workspace_id), ["tokens revoked"])
        return 0

    return run(args, guarded(body))


def _emit_key(args: argparse.Namespace, workspace_id: str, issued: NewKey) -> None:
    answer = ApiKeyIssued(
        key_id=issued.key_id, workspace_id=workspace_id, key=issued.key,
        expires_at=issued.expires_at,
    )  # fmt: skip
    human = [
        f"key_id: {issued.key_id}",
        f"key: {issued.key}  {SHOWN_ONCE}",
        f"expires_at: {_at(issued.expires_at)}",
    ]
    emit(args, answer, human)


def _describe(key: KeySummary) -> str:
    return f"{key.key_id}  {key.status:<7}  {_at(key.expires_at):<25}  {key.name}"


def cmd_keys_create(args: argparse.Namespace, run: Runner) -> int:
    async def body(authority: Authority) -> int:
        issued = await workspaces.create_api_key(
            authority, args.workspace, await _user_id(authority, args.by), name=args.name,
            scopes=args.scopes, days=args.days, metadata=METADATA,
        )  # fmt: skip
        _emit_key(args, args.workspace, issued)
        return 0

    return run(args, guarded(body))


def cmd_keys_list(args: argparse.Namespace, run: Runner) -> int:
    async def body(authority: Authority) -> int:
        await _members(authority, args.workspace)
        keys = await workspace_queries.list_keys(authority.pool, args.workspace)
        human = [f"{_describe(key)}  [{' '.join(key.scopes)}]" for key in keys] or ["no API keys"]
        emit(args, WorkspaceKeys(workspace_id=args.workspace, keys=keys), human)
        return 0

    return run(args, guarded(body))


def cmd_keys_rotate(args: argparse.Namespace, run: Runner) -> int:
    async def body(authority: Authority) -> int:
        issued = await workspaces.rotate_api_key(
            authority, args.workspace, await _user_id(authority, args.by), args.key_id,
            overlap=timedelta(seconds=args.overlap), metadata=METADATA,
        )  # fmt: skip
        _emit_key(args, args.workspace, issued)
        return 0

    return run(args, guarded(body))


def cmd_keys_revoke(args: argparse.Namespace, run: Runner) -> int:
    async def body(authority: Authority) -> int:
        await workspaces.revoke_api_key(
            authority, args.workspace, await _user_id(authority, args.by), args.key_id,
            reason=args.reason, metadata=METADATA,
        )  # fmt: skip
        keys = await workspace_queries.list_keys(authority.pool, args.workspace)
        (revoked,) = [key for key in keys if key.key_id == args.key_id]
        emit(args, revoked, [_describe(revoked)])
        return 0

    return run(args, guarded(body))


def cmd_keys_expiring(args: argparse.Namespace, run: Runner) -> int:
    async def body(authority: Authority) -> int:
        keys = await workspace_queries.expiring_keys(
            authority.pool, timedelta(days=args.within_days)
        )
        human = [
            f"{key.workspace_id}  {key.key_id}  {_at(key.expires_at)}  {key.name}" for key in keys
        ] or [f"no API key expires within {args.within_days} days"]
        emit(args, ExpiringKeys(within_days=args.within_days, keys=keys), human)
        return 0

    return run(args, guarded(body))


def add_expiring_command(keys_actions: Any, run: Runner) -> None:
    """`keys expiring`, beside the signing-key commands."""
    expiring = leaf(
        keys_actions, "expiring", "workspace API keys of every workspace expiring soon",
        handler(cmd_keys_expiring, run),
    )  # fmt: skip
    expiring.add_argument("--within-days", type=_days, default=14, metavar="D")


def _add_workspaces(commands: Any, run: Runner) -> None:
    group = commands.add_parser("workspaces", help="workspaces, their members and roles")
    actions = group.add_subparsers(dest="action", required=True)
    create = leaf(actions, "create", "create a workspace", handler(cmd_create, run))
    create.add_argument("--name", required=True)
    create.add_argument("--owner", required=True, metavar="USERNAME")
    create.add_argument("--default-key-days", type=int, default=90, metavar="D")
    create.add_argument("--max-key-days", type=int, default=365, metavar="D")
    create.add_argument(
        "--unlimited-keys", action="store_true", help="allow keys that never expire"
    )
    invite = leaf(actions, "invite", "invite a user", handler(cmd_invite, run))
    invite.add_argument("--role", choices=("admin", "member"), default="member")
    accept = leaf(actions, "accept", "accept an invitation", handler(cmd_accept, run))
    accept.add_argument("--user", required=True, metavar="USERNAME")
    set_role = leaf(actions, "set-role", "change a member's role", handler(cmd_set_role, run))
    set_role.add_argument("--role", choices=("owner", "admin", "member"), required=True)
    remove = leaf(actions, "remove-member", "remove a member", handler(cmd_remove_member, run))
    members = leaf(actions, "members", "list members and invitations", handler(cmd_members, run))
    revoke = leaf(
        actions, "revoke-tokens", "revoke every token issued to a workspace's clients",
        handler(cmd_revoke_tokens, run),
    )  # fmt: skip
    revoke.add_argument("--reason", default="")
    for parser in (invite, accept, set_role, remove, members, revoke):
        parser.add_argument("workspace_id")
    for parser in (invite, set_role, remove):
        parser.add_argument("--by", required=True, metavar="USERNAME", help="who acts")
        parser.add_argument("--user", required=True, metavar="USERNAME")
    add_sso_commands(actions, run)


def add_workspace_commands(commands: Any, run: Runner) -> None:
    """Add `workspaces` and `api-keys` to the `keyledger` subcommands."""
    _add_workspaces(commands, run)
    group = commands.add_parser("api-keys", help="workspace API keys")
    actions = group.add_subparsers(dest="action", required=True)
    create = leaf(actions, "create", "create a key (printed once)", handler(cmd_keys_create, run))
    create.add_argument("--name", required=True)
    create.add_argument("--scope", dest="scopes", action="append", required=True, metavar="S")
    create.add_argument("--days", type=int, metavar="D", help="0: never (if the workspace allows)")
    listing = leaf(actions, "list", "list keys (never secrets)", handler(cmd_keys_list, run))
    rotate = leaf(actions, "rotate", "a new key for KEY_ID", handler(cmd_keys_rotate, run))
    rotate.add_argument(
        "--overlap", type=int, default=86_400, metavar="SECONDS",
        help="how long the old key keeps working (86400)",
    )  # fmt: skip
    revoke = leaf(actions, "revoke", "revoke a key at once", handler(cmd_keys_revoke, run))
    revoke.add_argument("--reason", default="")
    for parser in (rotate, revoke):
        parser.add_argument("key_id")
    for parser in (create, listing, rotate, revoke):
        parser.add_argument("--workspace", required=True, metavar="ID")
    for parser in (create, rotate, revoke):
        parser.add_argument("--by", required=True, metavar="USERNAME", help="who acts")
