"""The workspace (organization): members and their roles, and the workspace's API keys.

Roles: one Owner, who may do everything and is the only one who can hand ownership on or
cut an application off; Admins, who manage members (never the Owner) and API keys; Members,
who may see the workspace and leave it. A refused command raises `WorkspaceRefusal`.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Literal, assert_never

import msgspec
from schemas.events import (
    ApiKeyCreated,
    ApiKeyRevoked,
    ApiKeyRotated,
    Digest,
    InvitationAccepted,
    MemberInvited,
    MemberRemoved,
    MemberRoleChanged,
    WorkspaceCreated,
    WorkspaceTokensRevoked,
)
from schemas.events.workspace import Role, WorkspaceEvent

from domain.decider import Decider
from domain.scopes import uncatalogued

__all__ = [
    "AcceptInvitation",
    "ChangeRole",
    "CreateApiKey",
    "CreateWorkspace",
    "InviteMember",
    "Key",
    "RemoveMember",
    "RevokeApiKey",
    "RevokeWorkspaceTokens",
    "RotateApiKey",
    "WorkspaceCommand",
    "WorkspaceRefusal",
    "WorkspaceState",
    "decider",
    "require_role",
]

RefusalCode = Literal["forbidden", "not_found", "conflict", "invalid"]


class WorkspaceRefusal(Exception):
    def __init__(self, code: RefusalCode, description: str) -> None:
        super().__init__(description)
        self.code: RefusalCode = code
        self.description = description


class CreateWorkspace(msgspec.Struct, frozen=True, kw_only=True):
    workspace_id: str
    name: str
    owner_id: str
    default_key_days: int = 90
    max_key_days: int = 365
    unlimited_keys: bool = False


class InviteMember(msgspec.Struct, frozen=True, kw_only=True):
    actor_id: str
    user_id: str
    role: Role


class AcceptInvitation(msgspec.Struct, frozen=True, kw_only=True):
    user_id: str


class ChangeRole(msgspec.Struct, frozen=True, kw_only=True):
    actor_id: str
    user_id: str
    role: Role


class RemoveMember(msgspec.Struct, frozen=True, kw_only=True):
    actor_id: str
    user_id: str


class CreateApiKey(msgspec.Struct, frozen=True, kw_only=True):
    actor_id: str
    key_id: str
    name: str
    scopes: tuple[str, ...]
    key_digest: Digest
    # Days until it expires; None takes the workspace default, 0 asks for no expiry.
    days: int | None
    now: datetime


class RotateApiKey(msgspec.Struct, frozen=True, kw_only=True):
    actor_id: str
    key_id: str
    key_digest: Digest
    overlap: timedelta
    now: datetime


class RevokeApiKey(msgspec.Struct, frozen=True, kw_only=True):
    actor_id: str
    key_id: str
    reason: str = ""


class RevokeWorkspaceTokens(msgspec.Struct, frozen=True, kw_only=True):
    """An operator's incident response: no member role is involved."""

    workspace_id: str
    reason: str = ""


WorkspaceCommand = (
    CreateWorkspace
    | InviteMember
    | AcceptInvitation
    | ChangeRole
    | RemoveMember
    | CreateApiKey
    | RotateApiKey
    | RevokeApiKey
    | RevokeWorkspaceTokens
)


class Key(msgspec.Struct, frozen=True, kw_only=True):
    name: str
    scopes: tuple[str, ...]
    expires_at: datetime | None
    revoked: bool = False


class WorkspaceState(msgspec.Struct, frozen=True, kw_only=True):
    created: WorkspaceCreated | None = None
    members: dict[str, Role] = msgspec.field(default_factory=dict)
    invited: dict[str, Role] = msgspec.field(default_factory=dict)
    keys: dict[str, Key] = msgspec.field(default_factory=dict)


_RANK: dict[Role, int] = {"member": 0, "admin": 1, "owner": 2}


def require_role(state: WorkspaceState, user_id: str, least: Role) -> Role:
    """The user's role if it is at least `least`; refuses otherwise (or if not a member)."""
    if state.created is None:
        raise WorkspaceRefusal("not_found", "there is no such workspace")
    role = state.members.get(user_id)
    if role is None:
        raise WorkspaceRefusal("forbidden", "you are not a member of this workspace")
    if _RANK[role] < _RANK[least]:
        raise WorkspaceRefusal("forbidden", f"this needs the {least} role; you are {role}")
    return role


def decide(command: WorkspaceCommand, state: WorkspaceState) -> Sequence[WorkspaceEvent]:
    workspace_id = state.created.workspace_id if state.created else ""
    match command:
        case CreateWorkspace():
            if state.created is not None:
                raise WorkspaceRefusal("conflict", "the workspace exists already")
            _check_policy(command)
            return [WorkspaceCreated(**msgspec.structs.asdict(command))]
        case InviteMember() | AcceptInvitation() | ChangeRole() | RemoveMember():
            return _membership(command, state, workspace_id)
        case CreateApiKey():
            return [_create_key(command, state, workspace_id)]
        case RotateApiKey() | RevokeApiKey():
            return _key_change(command, state, workspace_id)
        case RevokeWorkspaceTokens(workspace_id=revoked, reason=reason):
            return [WorkspaceTokensRevoked(workspace_id=revoked, reason=reason)]
        case _:
            assert_never(command)


def _membership(
    command: InviteMember | AcceptInvitation | ChangeRole | RemoveMember,
    state: WorkspaceState,
    workspace_id: str,
) -> Sequence[WorkspaceEvent]:
    match command:
        case InviteMember(actor_id=actor, user_id=user, role=role):
            require_role(state, actor, "admin")
            if role == "owner":
                raise WorkspaceRefusal("invalid", "invite as admin or member; the Owner hands on")
            if user in state.members:
                raise WorkspaceRefusal("conflict", "the user is a member already")
            return [MemberInvited(workspace_id=workspace_id, user_id=user, role=role)]
        case AcceptInvitation(user_id=user):
            invited = state.invited.get(user)
            if state.created is None or invited is None:
                raise WorkspaceRefusal("not_found", "there is no invitation to accept")
            return [InvitationAccepted(workspace_id=workspace_id, user_id=user, role=invited)]
        case ChangeRole():
            return _change_role(command, state, workspace_id)
        case RemoveMember(actor_id=actor, user_id=user):
            target = state.members.get(user)
            if target == "owner":
                raise WorkspaceRefusal("forbidden", "the Owner cannot be removed; hand on first")
            if actor != user:  # anyone may leave; removing others needs an Admin
                require_role(state, actor, "admin")
            elif state.created is None:
                raise WorkspaceRefusal("not_found", "there is no such workspace")
            if target is None:
                raise WorkspaceRefusal("not_found", "the user is not a member")
            return [MemberRemoved(workspace_id=workspace_id, user_id=user, role=target)]


def _key_change(
    command: RotateApiKey | RevokeApiKey, state: WorkspaceState, workspace_id: str
) -> Sequence[WorkspaceEvent]:
    match command:
        case RotateApiKey(actor_id=actor, key_id=key_id):
            require_role(state, actor, "admin")
            key = _live_key(state, key_id, command.now)
            # The new key gets the workspace's default lifetime (none, if the old had none).
            expires_at = _expiry(state, command.now, 0 if key.expires_at is None else None)
            previous_valid_until = command.now + command.overlap
            if key.expires_at is not None:
                previous_valid_until = min(previous_valid_until, key.expires_at)
            return [
                ApiKeyRotated(
                    workspace_id=workspace_id, key_id=key_id, key_digest=command.key_digest,
                    expires_at=expires_at, previous_valid_until=previous_valid_until,
                )
            ]  # fmt: skip
        case RevokeApiKey(actor_id=actor, key_id=key_id, reason=reason):
            require_role(state, actor, "admin")
            existing = state.keys.get(key_id)
            if existing is None:
                raise WorkspaceRefusal("not_found", "the workspace has no such API key")
            if existing.revoked:
                return []
            return [ApiKeyRevoked(workspace_id=workspace_id, key_id=key_id, reason=reason)]


def _check_policy(command: CreateWorkspace) -> None:
    if not command.name.strip() or len(command.name) > 200:
        raise WorkspaceRefusal("invalid", "a workspace name is 1 to 200 characters")
    if not 1 <= command.default_key_days <= command.max_key_days:
        raise WorkspaceRefusal("invalid", "key lifetimes: 1 <= default_key_days <= max_key_days")


def _change_role(
    command: ChangeRole, state: WorkspaceState, workspace_id: str
) -> Sequence[WorkspaceEvent]:
    actor_role = require_role(state, command.actor_id, "admin")
    current = state.members.get(command.user_id)
    if current is None:
        raise WorkspaceRefusal("not_found", "the user is not a member")
    if current == command.role:
        return []
    if current == "owner":
        raise WorkspaceRefusal("forbidden", "the Owner's role changes only by handing on")
    if command.role == "owner":
        if actor_role != "owner":
            raise WorkspaceRefusal("forbidden", "only the Owner can hand ownership on")
        # One Owner at a time: the previous Owner stays on as an Admin.
        return [
            MemberRoleChanged(workspace_id=workspace_id, user_id=command.user_id,
                              role="owner", previous_role=current),
            MemberRoleChanged(workspace_id=workspace_id, user_id=command.actor_id,
                              role="admin", previous_role="owner"),
        ]  # fmt: skip
    return [
        MemberRoleChanged(
            workspace_id=workspace_id, user_id=command.user_id, role=command.role,
            previous_role=current,
        )
    ]  # fmt: skip


def _create_key(command: CreateApiKey, state: WorkspaceState, workspace_id: str) -> ApiKeyCreated:
    require_role(state, command.actor_id, "admin")
    if not command.name.strip() or len(command.name) > 200:
        raise WorkspaceRefusal("invalid", "a key name is 1 to 200 characters")
    if not command.scopes:
        raise WorkspaceRefusal("invalid", "a key holds at least one scope")
    unknown = uncatalogued(command.scopes)
    if unknown:
        raise WorkspaceRefusal("invalid", f"not in the scope catalogue: {' '.join(unknown)}")
    if command.key_id in state.keys:
        raise WorkspaceRefusal("conflict", "the key id is taken")
    return ApiKeyCreated(
        workspace_id=workspace_id, key_id=command.key_id, name=command.name,
        scopes=tuple(dict.fromkeys(command.scopes)), key_digest=command.key_digest,
        expires_at=_expiry(state, command.now, command.days),
    )  # fmt: skip


def _expiry(state: WorkspaceState, now: datetime, days: int | None) -> datetime | None:
    assert state.created is not None
    policy = state.created
    if days is None:
        return now + timedelta(days=policy.default_key_days)
    if days == 0:
        if not policy.unlimited_keys:
            raise WorkspaceRefusal("invalid", "this workspace's keys must expire")
        return None
    if not 1 <= days <= policy.max_key_days:
        raise WorkspaceRefusal("invalid", f"a key lives 1 to {policy.max_key_days} days here")
    return now + timedelta(days=days)


def _live_key(state: WorkspaceState, key_id: str, now: datetime) -> Key:
    key = state.keys.get(key_id)
    if key is None:
        raise WorkspaceRefusal("not_found", "the workspace has no such API key")
    if key.revoked:
        raise WorkspaceRefusal("conflict", "the key is revoked; create a new one")
    if key.expires_at is not None and key.expires_at <= now:
        raise WorkspaceRefusal("conflict", "the key has expired; create a new one")
    return key


def evolve(state: WorkspaceState, event: WorkspaceEvent) -> WorkspaceState:
    replace = msgspec.structs.replace
    match event:
        case WorkspaceCreated(owner_id=owner):
            return replace(state, created=event, members={owner: "owner"})
        case MemberInvited(user_id=user, role=role):
            return replace(state, invited={**state.invited, user: role})
        case InvitationAccepted(user_id=user, role=role):
            invited = {k: v for k, v in state.invited.items() if k != user}
            return replace(state, invited=invited, members={**state.members, user: role})
        case MemberRoleChanged(user_id=user, role=role):
            return replace(state, members={**state.members, user: role})
        case MemberRemoved(user_id=user):
            return replace(state, members={k: v for k, v in state.members.items() if k != user})
        case ApiKeyCreated(key_id=key_id):
            key = Key(name=event.name, scopes=event.scopes, expires_at=event.expires_at)
            return replace(state, keys={**state.keys, key_id: key})
        case ApiKeyRotated(key_id=key_id):
            rotated = replace(state.keys[key_id], expires_at=event.expires_at)
            return replace(state, keys={**state.keys, key_id: rotated})
        case ApiKeyRevoked(key_id=key_id):
            revoked = replace(state.keys[key_id], revoked=True)
            return replace(state, keys={**state.keys, key_id: revoked})
        case WorkspaceTokensRevoked():
            return state
        case _:
            assert_never(event)


decider: Decider[WorkspaceCommand, WorkspaceEvent, WorkspaceState] = Decider(
    initial_state=WorkspaceState(), decide=decide, evolve=evolve
)
