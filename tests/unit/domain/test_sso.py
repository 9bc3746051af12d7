"""Single sign-on, pure: what a configuration must hold, how claims become an identity, and
what one sign-in decides, above all about account takeover."""

from __future__ import annotations

from datetime import UTC, datetime

import msgspec
import pytest

from domain import sso
from domain.login import Account, LoginAttempt, decide_login
from schemas.events import (
    ClaimMapping,
    LoginRefused,
    LoginSucceeded,
    Sealed,
    SsoConfigured,
    SsoDisabled,
    SsoIdentityLinked,
    SsoUserProvisioned,
)
from schemas.events.login import LoginMethod
from tests.deciders import Scenario

ISSUER = "https://idp.acme.example"
CONFIGURED = SsoConfigured(
    workspace_id="w1", issuer=ISSUER, authorization_endpoint=f"{ISSUER}/authorize",
    token_endpoint=f"{ISSUER}/token", jwks_uri=f"{ISSUER}/jwks", client_id="keyledger",
    sealed_client_secret=Sealed("v1.k1.AAAA"), allowed_domains=("acme.example",),
)  # fmt: skip
ALICE = sso.Identity(subject="s-1", email="alice@acme.example", email_verified=True, name="Al")


def attempt(
    identity: sso.Identity = ALICE,
    *,
    linked: sso.Account | None = None,
    by_email: sso.Account | None = None,
    configured: SsoConfigured = CONFIGURED,
) -> sso.SignInDecision:
    return sso.decide_sign_in(
        sso.SsoSignIn(
            configured=configured, identity=identity, linked=linked, by_email=by_email,
            new_user_id="new", client_id="app",
        )
    )  # fmt: skip


def account(user_id: str, **flags: bool) -> sso.Account:
    return sso.Account(
        user_id=user_id,
        disabled=flags.get("disabled", False),
        service_account=flags.get("service_account", False),
    )


def test_a_sound_configuration_is_recorded_replaced_and_disabled() -> None:
    Scenario(sso.decider).when(sso.ConfigureSso(configured=CONFIGURED)).then(CONFIGURED)
    Scenario(sso.decider).given(CONFIGURED).when(
        sso.ConfigureSso(configured=CONFIGURED)
    ).then_nothing()
    mandatory = msgspec.structs.replace(CONFIGURED, required=True)
    Scenario(sso.decider).given(CONFIGURED).when(sso.ConfigureSso(configured=mandatory)).then(
        mandatory
    )
    Scenario(sso.decider).given(CONFIGURED).when(sso.DisableSso(reason="moved")).then(
        SsoDisabled(workspace_id="w1", reason="moved")
    )
    with pytest.raises(sso.SsoRefusal):
        Scenario(sso.decider).when(sso.DisableSso())


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"jwks_uri": "http://idp.acme.example/jwks"}, "jwks_uri"),  # clear text, not loopback
        ({"issuer": "https://user:pw@idp.acme.example"}, "issuer"),
        ({"sealed_client_secret": None}, "client_secret"),
        ({"allowed_domains": ()}, "allowed_domains"),
        ({"allowed_domains": ("ACME.example",)}, "allowed_domains"),
        ({"allowed_domains": ("localhost",)}, "allowed_domains"),
        ({"scopes": ("profile",)}, "scopes"),
        ({"claims": ClaimMapping(email="e mail")}, "claims"),
        ({"client_id": ""}, "client_id"),
    ],
)
def test_a_configuration_is_refused_naming_what_is_wrong(
    change: dict[str, object], field: str
) -> None:
    bad = msgspec.structs.replace(CONFIGURED, **change)
    with pytest.raises(sso.SsoRefusal) as refused:
        Scenario(sso.decider).when(sso.ConfigureSso(configured=bad))
    assert field in refused.value.description


@pytest.mark.parametrize(
    ("address", "domain"),
    [
        ("alice@acme.example", "acme.example"),
        ("Alice@ACME.Example", "acme.example"),
        ('"a@b"@acme.example', "acme.example"),
        ("alice", None),
        ("@acme.example", None),
        ("alice@localhost", None),
        ("alice@acme..example", None),
    ],
)
def test_the_email_domain_is_the_lower_case_dns_name_after_the_last_at(
    address: str, domain: str | None
) -> None:
    assert sso.email_domain(address) == domain


def test_claims_are_read_through_the_mapping_and_an_email_counts_only_when_vouched_for() -> None:
    mapped = msgspec.structs.replace(
        CONFIGURED, claims=ClaimMapping(subject="oid", email="upn", name="display")
    )
    claims = {"oid": "o-9", "sub": "ignored", "upn": "Bob@Acme.example", "display": "Bob"}
    assert sso.identity_of(claims, mapped) == sso.Identity(
        subject="o-9", email="bob@acme.example", email_verified=False, name="Bob"
    )
    assert sso.identity_of({**claims, "email_verified": True}, mapped) is not None
    verified = sso.identity_of({"sub": "s", "email": "a@acme.example", "email_verified": "true"},
                               CONFIGURED)  # fmt: skip
    assert verified is not None and verified.email_verified
    trusted = msgspec.structs.replace(mapped, trust_email=True)
    identity = sso.identity_of(claims, trusted)
    assert identity is not None and identity.email_verified
    assert sso.identity_of({"email": "a@acme.example"}, CONFIGURED) is None  # no subject
    assert sso.identity_of({"sub": 42}, CONFIGURED) is None


def test_a_first_sign_in_provisions_an_account_named_by_the_email() -> None:
    decided = attempt()
    assert decided.user_id == "new"
    assert decided.account_events == (
        SsoUserProvisioned(user_id="new", username="alice@acme.example", workspace_id="w1",
                           issuer=ISSUER, subject="s-1", name="Al"),
    )  # fmt: skip
    assert decided.login == LoginSucceeded(user_id="new", method="sso", client_id="app")


def test_a_linked_identity_signs_in_its_account_whatever_its_email_now() -> None:
    moved = msgspec.structs.replace(ALICE, email="alice@elsewhere.example", email_verified=False)
    decided = attempt(moved, linked=account("u1"), by_email=account("u2"))
    assert (decided.user_id, decided.account_events) == ("u1", ())
    disabled = attempt(linked=account("u1", disabled=True))
    assert disabled.login == LoginRefused(
        user_id="u1", method="sso", reason="user_disabled", client_id="app"
    )


def test_an_existing_account_is_linked_only_by_a_verified_email_of_an_allowed_domain() -> None:
    linked = attempt(by_email=account("u2"))
    assert linked.user_id == "u2"
    assert linked.account_events == (
        SsoIdentityLinked(user_id="u2", workspace_id="w1", issuer=ISSUER, subject="s-1"),
    )
    unverified = attempt(
        msgspec.structs.replace(ALICE, email_verified=False), by_email=account("u2")
    )
    assert unverified.user_id is None and unverified.account_events == ()
    assert isinstance(unverified.login, LoginRefused)
    assert (unverified.login.reason, unverified.login.user_id) == ("sso_email_unverified", "u2")
    script = attempt(by_email=account("u3", service_account=True))
    assert isinstance(script.login, LoginRefused) and script.login.reason == "not_allowed"


@pytest.mark.parametrize(
    "email", ["alice@evil.example", "alice@sub.acme.example", "alice@acme.example.evil", None]
)
def test_a_person_outside_the_allowed_domains_is_refused_and_nothing_is_linked_or_made(
    email: str | None,
) -> None:
    decided = attempt(msgspec.structs.replace(ALICE, email=email), by_email=account("u2"))
    assert decided.user_id is None and decided.account_events == ()
    assert isinstance(decided.login, LoginRefused)
    assert decided.login.reason == "sso_domain_not_allowed"


NOW = datetime(2026, 12, 1, tzinfo=UTC)
PERSON = Account(
    user_id="u1", disabled=False, service_account=False, password_expires_at=None,
    otp_enabled=False,
)  # fmt: skip


@pytest.mark.parametrize("method", ["page", "password_grant"])
@pytest.mark.parametrize("known", [PERSON, None])
def test_mandatory_sso_refuses_a_password_even_a_right_one(
    method: LoginMethod, known: Account | None
) -> None:
    attempt = LoginAttempt(
        account=known, method=method, now=NOW, password_ok=True, sso_required=True
    )
    event = decide_login(attempt)
    assert isinstance(event, LoginRefused) and event.reason == "sso_required"


def test_mandatory_sso_lets_a_service_account_use_its_password_grant() -> None:
    robot = msgspec.structs.replace(PERSON, service_account=True)
    attempt = LoginAttempt(
        account=robot, method="password_grant", now=NOW, password_ok=True, sso_required=True
    )
    assert isinstance(decide_login(attempt), LoginSucceeded)
    wrong = decide_login(msgspec.structs.replace(attempt, password_ok=False))
    assert isinstance(wrong, LoginRefused) and wrong.reason == "invalid_credentials"
