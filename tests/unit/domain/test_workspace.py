"""Workspace rules: one Owner, what each role may do, and how long an API key lives."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from domain import workspace as w
from schemas.events import (
    ApiKeyCreated,
    ApiKeyRotated,
    Digest,
    InvitationAccepted,
    MemberInvited,
    MemberRoleChanged,
    WorkspaceCreated,
)
from schemas.events.workspace import WorkspaceEvent
from tests.deciders import Scenario

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
created = WorkspaceCreated(workspace_id="w1", name="Acme", owner_id="olivia", max_key_days=180)
joined = (
    MemberInvited(workspace_id="w1", user_id="adam", role="admin"),
    InvitationAccepted(workspace_id="w1", user_id="adam", role="admin"),
    MemberInvited(workspace_id="w1", user_id="mia", role="member"),
    InvitationAccepted(workspace_id="w1", user_id="mia", role="member"),
)
team = Scenario(w.decider).given(created, *joined)


def key(actor: str = "adam", days: int | None = None, now: datetime = NOW) -> w.CreateApiKey:
    return w.CreateApiKey(
        actor_id=actor, key_id="k1", name="BI Dashboard", scopes=("analytics.read",),
        key_digest=Digest("d1"), days=days, now=now,
    )  # fmt: skip


Workspace = Scenario[w.WorkspaceCommand, WorkspaceEvent, w.WorkspaceState]


def refused(scenario: Workspace, command: w.WorkspaceCommand) -> str:
    with pytest.raises(w.WorkspaceRefusal) as refusal:
        scenario.when(command)
    return refusal.value.code


def test_handing_ownership_on_keeps_exactly_one_owner() -> None:
    outcome = team.when(w.ChangeRole(actor_id="olivia", user_id="adam", role="owner"))
    outcome.then(
        MemberRoleChanged(workspace_id="w1", user_id="adam", role="owner", previous_role="admin"),
        MemberRoleChanged(workspace_id="w1", user_id="olivia", role="admin", previous_role="owner"),
    )
    assert [u for u, role in outcome.state.members.items() if role == "owner"] == ["adam"]


def test_an_admin_manages_members_but_never_the_owner() -> None:
    assert refused(team, w.RemoveMember(actor_id="adam", user_id="olivia")) == "forbidden"
    assert refused(team, w.ChangeRole(actor_id="adam", user_id="olivia", role="member")) == (
        "forbidden"
    )
    assert refused(team, w.ChangeRole(actor_id="adam", user_id="mia", role="owner")) == (
        "forbidden"
    )
    team.when(w.ChangeRole(actor_id="adam", user_id="mia", role="admin")).then(
        MemberRoleChanged(workspace_id="w1", user_id="mia", role="admin", previous_role="member")
    )
    # Anyone may leave, but the Owner only after handing on.
    assert team.when(w.RemoveMember(actor_id="mia", user_id="mia")).state.members.get("mia") is None
    assert refused(team, w.RemoveMember(actor_id="olivia", user_id="olivia")) == "forbidden"


def test_only_owners_and_admins_create_keys_from_the_catalogue() -> None:
    assert refused(team, key(actor="mia")) == "forbidden"
    assert refused(team, key(actor="stranger")) == "forbidden"
    unknown = w.CreateApiKey(
        actor_id="adam", key_id="k1", name="x", scopes=("root",), key_digest=Digest("d"),
        days=None, now=NOW,
    )  # fmt: skip
    assert refused(team, unknown) == "invalid"
    team.when(key()).then(
        ApiKeyCreated(
            workspace_id="w1", key_id="k1", name="BI Dashboard", scopes=("analytics.read",),
            key_digest=Digest("d1"), expires_at=NOW + timedelta(days=90),
        )
    )  # fmt: skip


def test_key_lifetimes_follow_the_workspace_policy() -> None:
    assert refused(team, key(days=0)) == "invalid"  # never expiring: not allowed here
    assert refused(team, key(days=181)) == "invalid"
    lax = Scenario(w.decider).given(
        WorkspaceCreated(workspace_id="w1", name="Lax", owner_id="olivia", unlimited_keys=True)
    )
    (made,) = lax.when(key(actor="olivia", days=0)).events
    assert isinstance(made, ApiKeyCreated) and made.expires_at is None


def test_rotation_keeps_the_old_key_no_longer_than_it_would_have_lived() -> None:
    made = team.when(key()).events
    later = NOW + timedelta(days=89, hours=23)
    rotate = w.RotateApiKey(
        actor_id="olivia", key_id="k1", key_digest=Digest("d2"), overlap=timedelta(days=1),
        now=later,
    )  # fmt: skip
    (rotated,) = team.given(*made).when(rotate).events
    assert isinstance(rotated, ApiKeyRotated)
    assert rotated.previous_valid_until == NOW + timedelta(days=90)
    assert rotated.expires_at == later + timedelta(days=90)
    expired = w.RotateApiKey(
        actor_id="olivia", key_id="k1", key_digest=Digest("d3"), overlap=timedelta(0),
        now=NOW + timedelta(days=91),
    )  # fmt: skip
    assert refused(team.given(*made), expired) == "conflict"
