"""Consent rules: remembered scopes skip the page until a wider request; withdrawal forgets."""

from __future__ import annotations

from domain.consent import GrantConsent, WithdrawConsent, covers, decider
from schemas.events import ConsentGranted, ConsentWithdrawn
from tests.deciders import Scenario

GRANTED = ConsentGranted(user_id="u1", client_id="c1", scopes=("openid", "profile"))
consent = Scenario(decider)


def grant(*scopes: str) -> GrantConsent:
    return GrantConsent(user_id="u1", client_id="c1", scopes=scopes)


def test_a_first_grant_records_the_requested_scopes() -> None:
    consent.when(grant("openid", "profile")).then(GRANTED)


def test_a_request_within_the_consented_scopes_decides_nothing() -> None:
    consent.given(GRANTED).when(grant("profile")).then_nothing()
    consent.given(GRANTED).when(grant("profile", "openid")).then_nothing()


def test_a_wider_request_records_the_union_with_existing_scopes_first() -> None:
    outcome = consent.given(GRANTED).when(grant("email", "openid"))
    outcome.then(
        ConsentGranted(user_id="u1", client_id="c1", scopes=("openid", "profile", "email"))
    )
    assert covers(outcome.state, ["openid", "profile", "email"])


def test_withdrawn_consent_no_longer_covers_anything() -> None:
    withdraw = WithdrawConsent(user_id="u1", client_id="c1")
    outcome = consent.given(GRANTED).when(withdraw)
    outcome.then(ConsentWithdrawn(user_id="u1", client_id="c1"))
    assert not covers(outcome.state, ["openid"])
    assert not covers(outcome.state, [])
    # The page is shown again, and the next grant starts from nothing.
    consent.given(GRANTED, *outcome.events).when(grant("openid")).then(
        ConsentGranted(user_id="u1", client_id="c1", scopes=("openid",))
    )


def test_withdrawing_consent_that_was_never_given_decides_nothing() -> None:
    withdraw = WithdrawConsent(user_id="u1", client_id="c1")
    consent.when(withdraw).then_nothing()
    withdrawn = ConsentWithdrawn(user_id="u1", client_id="c1")
    consent.given(GRANTED, withdrawn).when(withdraw).then_nothing()
