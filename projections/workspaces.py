"""Workspaces, members and API keys, inline: a revoked key or a removed member stops at once."""

from __future__ import annotations

from typing import Final

from projections.projection import Projection, Statement, load_ddl
from schemas.envelope import RecordedEvent
from schemas.events import (
    ApiKeyCreated,
    ApiKeyRevoked,
    ApiKeyRotated,
    InvitationAccepted,
    MemberInvited,
    MemberRemoved,
    MemberRoleChanged,
    WorkspaceCreated,
    to_snake_case,
)

__all__ = ["NAME", "PROJECTION", "statements"]

NAME: Final = "workspaces"

_CREATE: Final = """
INSERT INTO workspaces (workspace_id, name, default_key_days, max_key_days, unlimited_keys,
                        created_at)
VALUES ($1, $2, $3, $4, $5, $6)
"""
_MEMBER: Final = """
INSERT INTO workspace_members (workspace_id, user_id, role, status, since)
VALUES ($1, $2, $3, $4, $5)
ON CONFLICT (workspace_id, user_id) DO UPDATE SET role = $3, status = $4, since = $5
"""
_ROLE: Final = "UPDATE workspace_members SET role = $3 WHERE workspace_id = $1 AND user_id = $2"
_REMOVE: Final = "DELETE FROM workspace_members WHERE workspace_id = $1 AND user_id = $2"
_KEY: Final = """
INSERT INTO api_keys (key_id, workspace_id, name, scopes, key_digest, created_by, created_at,
                      expires_at)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
"""
_ROTATE: Final = """
UPDATE api_keys SET previous_digest = key_digest, previous_valid_until = $3, key_digest = $2,
                    expires_at = $4, rotated_at = $5
WHERE key_id = $1
"""
_REVOKE: Final = "UPDATE api_keys SET revoked_at = $2 WHERE key_id = $1 AND revoked_at IS NULL"


def statements(recorded: RecordedEvent) -> list[Statement]:
    event, at = recorded.event, recorded.occurred_at
    match event:
        case WorkspaceCreated():
            policy = (event.default_key_days, event.max_key_days, event.unlimited_keys)
            return [
                Statement(_CREATE, (event.workspace_id, event.name, *policy, at)),
                Statement(_MEMBER, (event.workspace_id, event.owner_id, "owner", "active", at)),
            ]
        case MemberInvited(workspace_id=workspace, user_id=user, role=role):
            return [Statement(_MEMBER, (workspace, user, role, "invited", at))]
        case InvitationAccepted(workspace_id=workspace, user_id=user, role=role):
            return [Statement(_MEMBER, (workspace, user, role, "active", at))]
        case MemberRoleChanged(workspace_id=workspace, user_id=user, role=role):
            return [Statement(_ROLE, (workspace, user, role))]
        case MemberRemoved(workspace_id=workspace, user_id=user):
            return [Statement(_REMOVE, (workspace, user))]
        case ApiKeyCreated():
            args = (event.key_id, event.workspace_id, event.name, list(event.scopes),
                    event.key_digest, recorded.metadata.actor_id, at, event.expires_at)  # fmt: skip
            return [Statement(_KEY, args)]
        case ApiKeyRotated():
            rotation = (event.key_id, event.key_digest, event.previous_valid_until,
                        event.expires_at, at)  # fmt: skip
            return [Statement(_ROTATE, rotation)]
        case ApiKeyRevoked(key_id=key_id):
            return [Statement(_REVOKE, (key_id, at))]
        case _:
            return []


PROJECTION: Final = Projection(
    name=NAME,
    handles=frozenset(
        to_snake_case(cls.__name__)
        for cls in (
            WorkspaceCreated,
            MemberInvited,
            InvitationAccepted,
            MemberRoleChanged,
            MemberRemoved,
            ApiKeyCreated,
            ApiKeyRotated,
            ApiKeyRevoked,
        )
    ),
    tables=("api_keys", "workspace_members", "workspaces"),
    ddl=load_ddl(NAME),
    statements=statements,
    inline=True,
)
