"""Events of the `workspace` stream: what concerns every client of one tenant at once."""

from __future__ import annotations

from schemas.events.base import EventBase

__all__ = ["WorkspaceEvent", "WorkspaceTokensRevoked"]


class WorkspaceTokensRevoked(EventBase, frozen=True, kw_only=True):
    """Every token issued so far to the workspace's clients stops working (an incident)."""

    workspace_id: str
    reason: str = ""


WorkspaceEvent = WorkspaceTokensRevoked
