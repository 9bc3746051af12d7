"""Console roles of one user: granted and revoked by an operator, each change a fact."""

from __future__ import annotations

from collections.abc import Sequence
from typing import assert_never

import msgspec
from schemas.events.console_role import (
    ConsoleRole,
    ConsoleRoleEvent,
    ConsoleRoleGranted,
    ConsoleRoleRevoked,
)

from domain.decider import Decider

__all__ = ["ConsoleRoleCommand", "GrantConsoleRole", "RevokeConsoleRole", "decider"]


class GrantConsoleRole(msgspec.Struct, frozen=True, kw_only=True):
    user_id: str
    role: ConsoleRole
    reason: str = ""


class RevokeConsoleRole(msgspec.Struct, frozen=True, kw_only=True):
    user_id: str
    role: ConsoleRole
    reason: str = ""


ConsoleRoleCommand = GrantConsoleRole | RevokeConsoleRole
# The roles held now.
ConsoleRoleState = frozenset[ConsoleRole]


def decide(command: ConsoleRoleCommand, state: ConsoleRoleState) -> Sequence[ConsoleRoleEvent]:
    """A change that changes nothing (granting a held role) is no event."""
    match command:
        case GrantConsoleRole(user_id=user_id, role=role, reason=reason):
            if role in state:
                return []
            return [ConsoleRoleGranted(user_id=user_id, role=role, reason=reason)]
        case RevokeConsoleRole(user_id=user_id, role=role, reason=reason):
            if role not in state:
                return []
            return [ConsoleRoleRevoked(user_id=user_id, role=role, reason=reason)]
        case _:
            assert_never(command)


def evolve(state: ConsoleRoleState, event: ConsoleRoleEvent) -> ConsoleRoleState:
    match event:
        case ConsoleRoleGranted(role=role):
            return state | {role}
        case ConsoleRoleRevoked(role=role):
            return state - {role}
        case _:
            assert_never(event)


decider: Decider[ConsoleRoleCommand, ConsoleRoleEvent, ConsoleRoleState] = Decider(
    initial_state=frozenset(), decide=decide, evolve=evolve
)
