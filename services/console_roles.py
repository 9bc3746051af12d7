"""Who may use the web console: roles granted to users, one `console_role-<user>` stream each.

`compliance` reads the audit trail as the audit API's `audit:read` does; `operator` manages
clients, keys and workspaces as `keyledger:admin` does. The console folds the user's stream
on every request, so a revoked role holds from the next page.
"""

from __future__ import annotations

from typing import Final

from domain import console_role
from schemas.envelope import Metadata
from schemas.events.console_role import ConsoleRole
from schemas.http.console import ConsoleRoles
from services.authority import Authority
from services.commands import execute, load
from services.refusals import Refused
from services.users import user_id_of

__all__ = ["ROLES", "change_role", "roles_of", "user_roles", "username_of"]

ROLES: Final[tuple[ConsoleRole, ...]] = ("compliance", "operator")


def _stream(user_id: str) -> str:
    return f"console_role-{user_id}"


async def roles_of(authority: Authority, user_id: str) -> frozenset[ConsoleRole]:
    state, _ = await load(authority.store, console_role.decider, _stream(user_id))
    return state


async def _user(authority: Authority, username: str) -> str:
    if "\x00" in username or len(username) > 255:
        raise Refused("not_found", f"no user {username!r}")
    user_id = await user_id_of(authority.pool, username)
    if user_id is None:
        raise Refused("not_found", f"no user {username!r}")
    return user_id


async def user_roles(authority: Authority, username: str) -> ConsoleRoles:
    user_id = await _user(authority, username)
    held = await roles_of(authority, user_id)
    return ConsoleRoles(user_id=user_id, username=username, roles=_ordered(held))


def _ordered(held: frozenset[ConsoleRole]) -> tuple[ConsoleRole, ...]:
    return tuple(role for role in ROLES if role in held)


async def change_role(
    authority: Authority,
    username: str,
    role: ConsoleRole,
    *,
    grant: bool,
    reason: str,
    metadata: Metadata,
) -> ConsoleRoles:
    """Grant or revoke one role; the event names the user, the operator and the reason."""
    if "\x00" in reason:
        raise Refused("invalid_request", "a reason must not contain NUL characters")
    user_id = await _user(authority, username)
    command: console_role.ConsoleRoleCommand = (
        console_role.GrantConsoleRole(user_id=user_id, role=role, reason=reason)
        if grant
        else console_role.RevokeConsoleRole(user_id=user_id, role=role, reason=reason)
    )
    about = Metadata(
        actor=metadata.actor,
        actor_id=metadata.actor_id,
        subject_user=user_id,
        ip=metadata.ip,
        user_agent=metadata.user_agent,
        request_id=metadata.request_id,
    )
    events = await execute(authority.store, console_role.decider, _stream(user_id), command, about)
    held = await roles_of(authority, user_id)
    return ConsoleRoles(
        user_id=user_id, username=username, roles=_ordered(held), changed=bool(events)
    )


async def username_of(authority: Authority, user_id: str) -> str | None:
    async with authority.pool.acquire() as conn:
        found: str | None = await conn.fetchval(
            "SELECT username FROM users WHERE user_id = $1", user_id
        )
    return found
