"""Client lifecycle rules, as pure decisions."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from domain.client import (
    Active,
    BanClient,
    Banned,
    RegisterClient,
    ReinstateClient,
    RotateClientSecret,
    SuspendClient,
    Suspended,
    decider,
)
from schemas.events import (
    ClientBanned,
    ClientRegistered,
    ClientReinstated,
    ClientSecretRotated,
    ClientSuspended,
    Digest,
)
from tests.deciders import Scenario

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
OLD, NEW = Digest("a" * 64), Digest("b" * 64)
REGISTERED = ClientRegistered(client_id="c1", name="Billing", confidential=True, secret_digest=OLD)
client = Scenario(decider)


def test_a_confidential_client_registers_with_a_secret_digest() -> None:
    register = RegisterClient(client_id="c1", name="Billing", confidential=True, secret_digest=OLD)
    client.when(register).then(REGISTERED).and_state_is(Active)


def test_a_public_client_never_holds_a_secret_and_a_confidential_one_always_does() -> None:
    public_with_secret = RegisterClient(
        client_id="c2", name="SPA", confidential=False, secret_digest=OLD
    )
    confidential_without = RegisterClient(
        client_id="c3", name="API", confidential=True, secret_digest=None
    )
    client.when(public_with_secret).then_nothing()
    client.when(confidential_without).then_nothing()


def test_registering_an_existing_client_again_decides_nothing() -> None:
    register = RegisterClient(client_id="c1", name="Again", confidential=True, secret_digest=NEW)
    client.given(REGISTERED).when(register).then_nothing()


def test_a_rotated_secret_keeps_the_previous_one_valid_for_the_overlap() -> None:
    rotate = RotateClientSecret(secret_digest=NEW, now=NOW, overlap=timedelta(hours=1))
    outcome = client.given(REGISTERED).when(rotate)
    outcome.then(
        ClientSecretRotated(
            client_id="c1", secret_digest=NEW, previous_valid_until=NOW + timedelta(hours=1)
        )
    )
    assert isinstance(outcome.state, Active)
    assert outcome.state.secret_digests == (NEW, OLD)


def test_a_suspended_client_is_reinstated_as_it_was() -> None:
    suspended = client.given(REGISTERED).when(SuspendClient(reason="abuse"))
    suspended.then(ClientSuspended(client_id="c1", reason="abuse")).and_state_is(Suspended)
    client.given(REGISTERED, *suspended.events).when(ReinstateClient()).then(
        ClientReinstated(client_id="c1")
    ).and_state_is(Active)


def test_a_ban_is_final() -> None:
    banned = client.given(REGISTERED, ClientBanned(client_id="c1", reason="fraud"))
    banned.when(ReinstateClient()).then_nothing().and_state_is(Banned)
    banned.when(SuspendClient()).then_nothing()
    assert decider.is_terminal(banned.when(BanClient()).state)


def test_a_suspended_client_can_be_banned() -> None:
    client.given(REGISTERED, ClientSuspended(client_id="c1")).when(BanClient(reason="x")).then(
        ClientBanned(client_id="c1", reason="x")
    )
