"""The workspace (tenant): what concerns every client of one workspace at once.

Workspaces have no lifecycle here yet; a workspace-wide revocation is an incident response
that always applies, so the state only counts them.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import assert_never

import msgspec
from schemas.events import WorkspaceTokensRevoked
from schemas.events.workspace import WorkspaceEvent

from domain.decider import Decider

__all__ = ["RevokeWorkspaceTokens", "WorkspaceCommand", "decider"]


class RevokeWorkspaceTokens(msgspec.Struct, frozen=True, kw_only=True):
    workspace_id: str
    reason: str = ""


WorkspaceCommand = RevokeWorkspaceTokens

# How many workspace-wide revocations happened.
WorkspaceState = int


def decide(command: WorkspaceCommand, _state: WorkspaceState) -> Sequence[WorkspaceEvent]:
    match command:
        case RevokeWorkspaceTokens(workspace_id=workspace_id, reason=reason):
            return [WorkspaceTokensRevoked(workspace_id=workspace_id, reason=reason)]
        case _:
            assert_never(command)


def evolve(state: WorkspaceState, event: WorkspaceEvent) -> WorkspaceState:
    match event:
        case WorkspaceTokensRevoked():
            return state + 1
        case _:
            assert_never(event)


decider: Decider[WorkspaceCommand, WorkspaceEvent, WorkspaceState] = Decider(
    initial_state=0, decide=decide, evolve=evolve
)
