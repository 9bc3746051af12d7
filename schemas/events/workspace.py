"""Events of the `workspace` stream: an organization, its members and roles, its API keys."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from schemas.events.base import Digest, EventBase

__all__ = [
    "ApiKeyCreated",
    "ApiKeyRevoked",
    "ApiKeyRotated",
    "InvitationAccepted",
    "MemberInvited",
    "MemberRemoved",
    "MemberRoleChanged",
    "Role",
    "WorkspaceCreated",
    "WorkspaceEvent",
    "WorkspaceTokensRevoked",
]

Role = Literal["owner", "admin", "member"]


class WorkspaceCreated(EventBase, frozen=True, kw_only=True):
    """A workspace and its one Owner; the key policy bounds every API key's lifetime."""

    workspace_id: str
    name: str
    owner_id: str
    default_key_days: int = 90
    max_key_days: int = 365
    # Whether a key may be created that never expires (off unless the workspace says so).
    unlimited_keys: bool = False


class MemberInvited(EventBase, frozen=True, kw_only=True):
    workspace_id: str
    user_id: str
    role: Role


class InvitationAccepted(EventBase, frozen=True, kw_only=True):
    workspace_id: str
    user_id: str
    role: Role


class MemberRoleChanged(EventBase, frozen=True, kw_only=True):
    workspace_id: str
    user_id: str
    role: Role
    previous_role: Role


class MemberRemoved(EventBase, frozen=True, kw_only=True):
    workspace_id: str
    user_id: str
    role: Role


class ApiKeyCreated(EventBase, frozen=True, kw_only=True):
    """A workspace API key: only its keyed digest is kept; the key was shown once."""

    workspace_id: str
    key_id: str
    name: str
    scopes: tuple[str, ...]
    key_digest: Digest
    # None: never expires (only where the workspace policy allows it).
    expires_at: datetime | None


class ApiKeyRotated(EventBase, frozen=True, kw_only=True):
    """A new key replaces the old one, which keeps working until `previous_valid_until`."""

    workspace_id: str
    key_id: str
    key_digest: Digest
    expires_at: datetime | None
    previous_valid_until: datetime


class ApiKeyRevoked(EventBase, frozen=True, kw_only=True):
    workspace_id: str
    key_id: str
    reason: str = ""


class WorkspaceTokensRevoked(EventBase, frozen=True, kw_only=True):
    """Every token issued so far to the workspace's clients stops working (an incident)."""

    workspace_id: str
    reason: str = ""


WorkspaceEvent = (
    WorkspaceCreated
    | MemberInvited
    | InvitationAccepted
    | MemberRoleChanged
    | MemberRemoved
    | ApiKeyCreated
    | ApiKeyRotated
    | ApiKeyRevoked
    | WorkspaceTokensRevoked
)
