"""`keyledger console grant|revoke|roles`: who may use the web console, and as what."""

from __future__ import annotations

import argparse
from typing import Any

from services.authority import Authority
from services.console_roles import ROLES, change_role, user_roles
from services.subcommand import METADATA, Runner, emit, guarded, handler, leaf

__all__ = ["add_console_commands"]


def _human(roles: tuple[str, ...]) -> str:
    return "roles: " + (", ".join(roles) if roles else "none")


def cmd_console_change(args: argparse.Namespace, run: Runner, grant: bool) -> int:
    async def body(authority: Authority) -> int:
        answer = await change_role(
            authority,
            args.username,
            args.role,
            grant=grant,
            reason=args.reason,
            metadata=METADATA,
        )
        done = ("granted" if grant else "revoked") if answer.changed else "unchanged"
        emit(args, answer, [f"{args.role} {done} for {args.username}", _human(answer.roles)])
        return 0

    return run(args, guarded(body))


def cmd_console_roles(args: argparse.Namespace, run: Runner) -> int:
    async def body(authority: Authority) -> int:
        answer = await user_roles(authority, args.username)
        emit(args, answer, [_human(answer.roles)])
        return 0

    return run(args, guarded(body))


def add_console_commands(commands: Any, run: Runner) -> None:
    """Add `console` to the `keyledger` commands."""
    group = commands.add_parser("console", help="who may use the web console (/console)")
    actions = group.add_subparsers(dest="action", required=True)
    for name, grant in (("grant", True), ("revoke", False)):
        change = leaf(
            actions,
            name,
            f"{name} a console role",
            handler(cmd_console_change, run, grant=grant),
        )
        change.add_argument("--username", required=True)
        change.add_argument("--role", required=True, choices=ROLES)
        change.add_argument("--reason", default="")
    listed = leaf(actions, "roles", "a user's console roles", handler(cmd_console_roles, run))
    listed.add_argument("--username", required=True)
