"""Workspace API bodies (`/workspaces/...`), also the `--json` output of the CLI.

Requests forbid unknown fields. A key appears in exactly one response: the one that made it
(`ApiKeyIssued`); every listing is a `KeySummary` without it.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

import msgspec

__all__ = [
    "ApiKeyIssued",
    "ApiKeyRequest",
    "ApiKeyRevocationRequest",
    "ApiKeyRotation",
    "CurrentApiKey",
    "Invitation",
    "RoleChange",
    "WorkspaceCreated",
    "WorkspaceRequest",
]

RoleName = Literal["owner", "admin", "member"]
# Lifetimes are bounded where they are read: a date beyond year 9999 is no lifetime.
_Days = Annotated[int, msgspec.Meta(ge=0, le=36_500)]
_OverlapSeconds = Annotated[int, msgspec.Meta(ge=0, le=30 * 86_400)]


class WorkspaceRequest(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    name: str
    default_key_days: _Days = 90
    max_key_days: _Days = 365
    unlimited_keys: bool = False


class WorkspaceCreated(msgspec.Struct, frozen=True, kw_only=True):
    workspace_id: str
    name: str


class Invitation(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    # The user to invite, by id or by username.
    user_id: str | None = None
    username: str | None = None
    role: Literal["admin", "member"] = "member"


class RoleChange(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    role: RoleName


class ApiKeyRequest(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    name: str
    scopes: list[str]
    # Omitted: the workspace default (90 days unless its policy says otherwise); 0: never,
    # where the workspace policy allows keys that never expire.
    expires_in_days: _Days | None = None


class ApiKeyRotation(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    # How long the old key keeps working beside the new one.
    overlap_seconds: _OverlapSeconds = 86400


class ApiKeyRevocationRequest(
    msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True
):
    reason: str = ""


class ApiKeyIssued(msgspec.Struct, frozen=True, kw_only=True):
    """The only response that holds the key: store it now, it is never shown again."""

    key_id: str
    workspace_id: str
    key: str
    expires_at: datetime | None


class CurrentApiKey(msgspec.Struct, frozen=True, kw_only=True):
    """`GET /api-keys/current`: the key the request was authenticated with."""

    key_id: str
    workspace_id: str
    name: str
    scopes: tuple[str, ...]
    expires_at: datetime | None
