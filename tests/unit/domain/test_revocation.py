"""Which events revoke what, and until when resource servers must remember it."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest

from domain.policies.lifetimes import MAX_ACCESS_TOKEN_TTL
from domain.revocation import REVOKING, Lifetimes, revocation_of
from schemas.envelope import Metadata, RecordedEvent
from schemas.events import (
    AccessTokenIssued,
    AccessTokenRevoked,
    ClientBanned,
    ClientReinstated,
    ClientSuspended,
    ConsentGranted,
    ConsentWithdrawn,
    Event,
    Jti,
    PasswordHash,
    SigningKeyRetired,
    SigningKeyRevoked,
    TokenFamilyRevoked,
    UserDisabled,
    UserPasswordChanged,
    UserTokensRevoked,
    WorkspaceTokensRevoked,
    event_type_of,
)
from schemas.revocations import (
    ClientRevocation,
    SigningKeyRevocation,
    TokenFamilyRevocation,
    TokenRevocation,
    UserClientRevocation,
    UserRevocation,
    WorkspaceRevocation,
)

AT = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
LIFETIMES = Lifetimes(
    access_token_ttl={"billing": timedelta(minutes=10)}, client_record_ttl=timedelta(seconds=2)
)


def recorded(event: Event, stream_id: str = "x-1", position: int = 42) -> RecordedEvent:
    return RecordedEvent(
        global_position=position,
        tx_id=7,
        stream_id=stream_id,
        stream_version=1,
        event_id=uuid.UUID(int=position),
        event_type=event_type_of(event),
        schema_version=1,
        occurred_at=AT,
        event=event,
        metadata=Metadata(),
        hash=b"",
    )


def test_a_revoked_token_is_remembered_until_it_expires() -> None:
    expiry = AT + timedelta(minutes=5)
    found = revocation_of(
        recorded(AccessTokenRevoked(jti=Jti("j1"), expires_at=expiry), "token_family-f1"),
        LIFETIMES,
    )
    assert found == TokenRevocation(
        event_id=uuid.UUID(int=42), global_position=42, occurred_at=AT, expires_at=expiry,
        cause="access_token_revoked", jti="j1",
    )  # fmt: skip


def test_a_revoked_family_is_named_by_its_stream_and_kept_until_its_last_token_expires() -> None:
    expiry = AT + timedelta(minutes=30)
    found = revocation_of(
        recorded(TokenFamilyRevoked(reason="revoked", expires_at=expiry), "token_family-f1"),
        LIFETIMES,
    )
    assert isinstance(found, TokenFamilyRevocation)
    assert (found.family_id, found.expires_at) == ("f1", expiry)


def test_events_logged_before_they_carried_an_expiry_get_the_longest_lifetime() -> None:
    found = revocation_of(recorded(TokenFamilyRevoked(reason="old"), "token_family-f1"), LIFETIMES)
    assert found is not None
    assert found.expires_at == AT + MAX_ACCESS_TOKEN_TTL


@pytest.mark.parametrize(
    "event", [ClientSuspended(client_id="billing"), ClientBanned(client_id="billing")]
)
def test_a_suspended_client_covers_what_its_cached_record_could_still_get(event: Event) -> None:
    found = revocation_of(recorded(event), LIFETIMES)
    assert isinstance(found, ClientRevocation)
    assert found.issued_before == AT + timedelta(seconds=2)
    # That client's own access-token lifetime after the last token it can have been given.
    assert found.expires_at == AT + timedelta(seconds=2) + timedelta(minutes=10)


def test_a_client_of_unknown_lifetime_is_remembered_for_the_longest_one() -> None:
    found = revocation_of(recorded(ClientSuspended(client_id="other")), LIFETIMES)
    assert found is not None
    assert found.expires_at == AT + timedelta(seconds=2) + MAX_ACCESS_TOKEN_TTL


def test_a_withdrawn_consent_revokes_the_users_tokens_for_that_client() -> None:
    found = revocation_of(recorded(ConsentWithdrawn(user_id="u1", client_id="billing")), LIFETIMES)
    assert isinstance(found, UserClientRevocation)
    assert (found.user_id, found.client_id, found.issued_before) == ("u1", "billing", AT)
    assert found.expires_at == AT + timedelta(minutes=10)


@pytest.mark.parametrize(
    "event",
    [
        UserDisabled(user_id="u1"),
        UserPasswordChanged(user_id="u1", password_hash=PasswordHash("$argon2id$x")),
        UserTokensRevoked(user_id="u1", reason="incident"),
    ],
)
def test_every_token_of_a_user_goes_on_disable_password_change_and_incident(event: Event) -> None:
    found = revocation_of(recorded(event), LIFETIMES)
    assert isinstance(found, UserRevocation)
    assert (found.user_id, found.issued_before) == ("u1", AT)
    assert found.expires_at == AT + MAX_ACCESS_TOKEN_TTL  # a user's tokens span clients


def test_everything_issued_before_an_instant_for_a_key_or_a_workspace() -> None:
    key = revocation_of(recorded(SigningKeyRevoked(kid="es256-1")), LIFETIMES)
    workspace = revocation_of(recorded(WorkspaceTokensRevoked(workspace_id="w1")), LIFETIMES)
    assert isinstance(key, SigningKeyRevocation)
    assert (key.kid, key.issued_before, key.expires_at) == (
        "es256-1",
        AT,
        AT + MAX_ACCESS_TOKEN_TTL,
    )
    assert isinstance(workspace, WorkspaceRevocation)
    assert (workspace.workspace_id, workspace.issued_before) == ("w1", AT)


@pytest.mark.parametrize(
    "event",
    [
        ClientReinstated(client_id="billing"),
        # A routine rotation: what the key signed lives out its lifetime.
        SigningKeyRetired(kid="es256-1"),
        ConsentGranted(user_id="u1", client_id="billing", scopes=("read",)),
        AccessTokenIssued(
            jti=Jti("j"), client_id="c", grant_type="client_credentials", scopes=(),
            expires_at=AT,
        ),
    ],
)  # fmt: skip
def test_other_events_revoke_nothing(event: Event) -> None:
    assert event_type_of(event) not in REVOKING
    assert revocation_of(recorded(event), LIFETIMES) is None
