"""Workspaces: creation, membership and roles, API keys; shared by the HTTP API and the CLI.

A refusal of the domain (domain/workspace.py) becomes a `Refused`: `access_denied` (403) for
a role that may not, `not_found`, `conflict`, or `invalid_request`. A new or rotated API key
is returned once, here, and nowhere else: only its keyed digest is logged.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Final

import msgspec

from domain import workspace as domain
from infra.crypto.digests import new_token
from schemas.envelope import Metadata
from schemas.events import ApiKeyCreated, ApiKeyRotated, Event
from schemas.events.workspace import Role
from services.authority import Authority
from services.commands import execute, random_id, utcnow
from services.refusals import Reason, Refused

__all__ = [
    "API_KEY_PREFIX",
    "NewKey",
    "accept_invitation",
    "change_role",
    "create_api_key",
    "create_workspace",
    "invite",
    "remove_member",
    "revoke_api_key",
    "rotate_api_key",
    "stream_of",
]

# Readable, so secret scanners can recognise a leaked key (GitHub's and others' patterns).
API_KEY_PREFIX: Final = "klk_"
_REASONS: Final[dict[domain.RefusalCode, Reason]] = {
    "forbidden": "access_denied",
    "not_found": "not_found",
    "conflict": "conflict",
    "invalid": "invalid_request",
}


class NewKey(msgspec.Struct, frozen=True, kw_only=True):
    """The one answer that holds the key itself."""

    key_id: str
    key: str
    expires_at: datetime | None


def stream_of(workspace_id: str) -> str:
    return f"workspace-{workspace_id}"


def _as(metadata: Metadata, workspace_id: str, actor_id: str | None) -> Metadata:
    return msgspec.structs.replace(
        metadata, workspace_id=workspace_id, actor_id=actor_id or metadata.actor_id
    )


async def _run(
    authority: Authority,
    workspace_id: str,
    command: domain.WorkspaceCommand,
    metadata: Metadata,
    actor_id: str | None = None,
) -> Sequence[Event]:
    try:
        return await execute(
            authority.store,
            domain.decider,
            stream_of(workspace_id),
            command,
            _as(metadata, workspace_id, actor_id),
        )
    except domain.WorkspaceRefusal as refusal:
        raise Refused(_REASONS[refusal.code], refusal.description) from None


async def create_workspace(
    authority: Authority,
    name: str,
    owner_id: str,
    metadata: Metadata,
    *,
    default_key_days: int = 90,
    max_key_days: int = 365,
    unlimited_keys: bool = False,
) -> str:
    """A new workspace with `owner_id` as its Owner; returns its id."""
    workspace_id = random_id()
    command = domain.CreateWorkspace(
        workspace_id=workspace_id, name=name, owner_id=owner_id,
        default_key_days=default_key_days, max_key_days=max_key_days,
        unlimited_keys=unlimited_keys,
    )  # fmt: skip
    await _run(authority, workspace_id, command, metadata, owner_id)
    return workspace_id


async def invite(
    authority: Authority, workspace_id: str, actor_id: str, user_id: str, *, role: Role,
    metadata: Metadata,
) -> None:  # fmt: skip
    command = domain.InviteMember(actor_id=actor_id, user_id=user_id, role=role)
    await _run(authority, workspace_id, command, metadata, actor_id)


async def accept_invitation(
    authority: Authority, workspace_id: str, user_id: str, metadata: Metadata
) -> None:
    command = domain.AcceptInvitation(user_id=user_id)
    await _run(authority, workspace_id, command, metadata, user_id)


async def change_role(
    authority: Authority, workspace_id: str, actor_id: str, user_id: str, *, role: Role,
    metadata: Metadata,
) -> None:  # fmt: skip
    command = domain.ChangeRole(actor_id=actor_id, user_id=user_id, role=role)
    await _run(authority, workspace_id, command, metadata, actor_id)


async def remove_member(
    authority: Authority, workspace_id: str, actor_id: str, user_id: str, metadata: Metadata
) -> None:
    command = domain.RemoveMember(actor_id=actor_id, user_id=user_id)
    await _run(authority, workspace_id, command, metadata, actor_id)


async def create_api_key(
    authority: Authority,
    workspace_id: str,
    actor_id: str,
    *,
    name: str,
    scopes: Sequence[str],
    days: int | None,
    metadata: Metadata,
    now: datetime | None = None,
) -> NewKey:
    """A new key, shown once: the caller hands `key` to the user and keeps nothing."""
    key_id, key, now = random_id(), new_token(API_KEY_PREFIX), now or utcnow()
    command = domain.CreateApiKey(
        actor_id=actor_id, key_id=key_id, name=name, scopes=tuple(scopes),
        key_digest=authority.hasher.digest(key), days=days, now=now,
    )  # fmt: skip
    (created,) = await _run(authority, workspace_id, command, metadata, actor_id)
    assert isinstance(created, ApiKeyCreated)
    return NewKey(key_id=key_id, key=key, expires_at=created.expires_at)


async def rotate_api_key(
    authority: Authority,
    workspace_id: str,
    actor_id: str,
    key_id: str,
    *,
    overlap: timedelta,
    metadata: Metadata,
) -> NewKey:
    """A new key for `key_id`; the old one keeps working for `overlap` (at most until expiry)."""
    if overlap < timedelta(0) or overlap > timedelta(days=30):
        raise Refused("invalid_request", "the overlap is 0 to 30 days")
    key, now = new_token(API_KEY_PREFIX), utcnow()
    command = domain.RotateApiKey(
        actor_id=actor_id, key_id=key_id, key_digest=authority.hasher.digest(key),
        overlap=overlap, now=now,
    )  # fmt: skip
    (rotated,) = await _run(authority, workspace_id, command, metadata, actor_id)
    assert isinstance(rotated, ApiKeyRotated)
    return NewKey(key_id=key_id, key=key, expires_at=rotated.expires_at)


async def revoke_api_key(
    authority: Authority, workspace_id: str, actor_id: str, key_id: str, *, reason: str,
    metadata: Metadata,
) -> None:  # fmt: skip
    """Immediate (inline key state) and published as an `api_key` revocation."""
    command = domain.RevokeApiKey(actor_id=actor_id, key_id=key_id, reason=reason)
    await _run(authority, workspace_id, command, metadata, actor_id)
