"""Authorization code rules: single use, 60 s, bound to client, redirect URI and PKCE."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from domain.authorization import (
    Closed,
    DenyAuthorization,
    IssueCode,
    Issued,
    RedeemCode,
    Redeemed,
    decider,
    redemption_refusal,
)
from domain.decider import fold
from schemas.events import (
    AuthorizationCodeIssued,
    AuthorizationCodeRedeemed,
    AuthorizationCodeReplayed,
    AuthorizationDenied,
    Digest,
)
from tests.deciders import Scenario

# RFC 7636 Appendix B.
VERIFIER = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"
CHALLENGE = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
# Well formed (43 unreserved characters) but not the one the challenge was made from.
OTHER_VERIFIER = "A" * 43

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
REDIRECT = "https://app.example/cb"


def issued(challenge: str | None = CHALLENGE) -> AuthorizationCodeIssued:
    return AuthorizationCodeIssued(
        code_digest=Digest("c" * 64),
        client_id="c1",
        user_id="u1",
        redirect_uri=REDIRECT,
        scopes=("openid",),
        code_challenge=challenge,
        expires_at=NOW + timedelta(seconds=60),
        auth_time=NOW,
    )


def redeem(
    *,
    client_id: str = "c1",
    redirect_uri: str | None = REDIRECT,
    code_verifier: str | None = VERIFIER,
    now: datetime = NOW + timedelta(seconds=59),
    family_id: str = "f1",
) -> RedeemCode:
    return RedeemCode(
        client_id=client_id,
        redirect_uri=redirect_uri,
        code_verifier=code_verifier,
        now=now,
        family_id=family_id,
    )


code = Scenario(decider)
ISSUED = code.given(issued())


def test_a_code_is_issued_once() -> None:
    code.when(IssueCode(issued=issued())).then(issued()).and_state_is(Issued)
    ISSUED.when(IssueCode(issued=issued())).then_nothing()


def test_a_code_redeemed_in_time_with_its_verifier_starts_a_family() -> None:
    ISSUED.when(redeem()).then(AuthorizationCodeRedeemed(family_id="f1")).and_state_is(Redeemed)


def test_the_first_replay_revokes_the_first_redemptions_family_and_later_ones_do_nothing() -> None:
    redeemed = ISSUED.given(AuthorizationCodeRedeemed(family_id="f1"))
    first_replay = redeemed.when(redeem(family_id="f2"))
    first_replay.then(AuthorizationCodeReplayed(family_id="f1"))
    assert redemption_refusal(redeem(), first_replay.state) == "replayed"
    redeemed.given(*first_replay.events).when(redeem(family_id="f3")).then_nothing()


@pytest.mark.parametrize(
    ("command", "refusal"),
    [
        (redeem(now=NOW + timedelta(seconds=60)), "expired"),
        (redeem(client_id="c2"), "wrong_client"),
        (redeem(redirect_uri="https://app.example/other"), "redirect_uri_mismatch"),
        (redeem(redirect_uri=None), "redirect_uri_mismatch"),
        (redeem(code_verifier=OTHER_VERIFIER), "pkce_mismatch"),
        (redeem(code_verifier=None), "pkce_mismatch"),
        (redeem(code_verifier=CHALLENGE), "pkce_mismatch"),  # the `plain` method
    ],
    ids=[
        "expired-at-expires_at",
        "wrong-client",
        "other-redirect",
        "missing-redirect",
        "wrong-verifier",
        "missing-verifier",
        "plain-verifier",
    ],
)
def test_a_refused_redemption_decides_nothing_and_says_why(
    command: RedeemCode, refusal: str
) -> None:
    ISSUED.when(command).then_nothing().and_state_is(Issued)
    assert redemption_refusal(command, fold(decider, [issued()])) == refusal


def test_a_verifier_for_a_code_issued_without_a_challenge_is_refused() -> None:
    without = code.given(issued(challenge=None))
    without.when(redeem(code_verifier=VERIFIER)).then_nothing()
    assert redemption_refusal(redeem(), fold(decider, [issued(None)])) == "pkce_mismatch"
    without.when(redeem(code_verifier=None)).then(AuthorizationCodeRedeemed(family_id="f1"))


def test_a_denied_authorization_has_no_code_to_redeem() -> None:
    denied = code.when(
        DenyAuthorization(
            denied=AuthorizationDenied(client_id="c1", user_id="u1", scopes=("openid",))
        )
    ).and_state_is(Closed)
    code.given(*denied.events).when(redeem()).then_nothing()
    assert redemption_refusal(redeem(), denied.state) == "unknown_code"
