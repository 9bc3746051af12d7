"""Events of `console_role` streams: who may use which part of the web console, per user.

A role is granted and revoked by an operator (the `keyledger console` CLI), with a reason;
the console reads the user's stream on every request, so a revocation holds at once.
"""

from __future__ import annotations

from typing import Literal

from schemas.events.base import EventBase

__all__ = ["ConsoleRole", "ConsoleRoleEvent", "ConsoleRoleGranted", "ConsoleRoleRevoked"]

# `compliance`: the audit trail (what the `audit:read` scope gives the audit API);
# `operator`: clients, keys, workspaces and lag (what `keyledger:admin` gives /manage).
ConsoleRole = Literal["compliance", "operator"]


class ConsoleRoleGranted(EventBase, frozen=True, kw_only=True):
    user_id: str
    role: ConsoleRole
    reason: str = ""


class ConsoleRoleRevoked(EventBase, frozen=True, kw_only=True):
    user_id: str
    role: ConsoleRole
    reason: str = ""


ConsoleRoleEvent = ConsoleRoleGranted | ConsoleRoleRevoked
