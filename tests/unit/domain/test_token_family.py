"""Token family rules: one-time refresh tokens, rotation and reuse detection (RFC 9700 4.14.2)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from domain.decider import fold
from domain.token_family import (
    Active,
    NoFamily,
    RevokeAccessToken,
    Revoked,
    RevokeFamily,
    RotateRefreshToken,
    StartFamily,
    decider,
    refresh_refusal,
)
from schemas.events import (
    AccessTokenIssued,
    AccessTokenRevoked,
    Digest,
    Jti,
    RefreshTokenIssued,
    RefreshTokenReuseDetected,
    RefreshTokenRotated,
    TokenFamilyRevoked,
)
from schemas.events.token_family import TokenFamilyEvent
from tests.deciders import Scenario

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
REFRESH_TTL = timedelta(days=30)
family = Scenario(decider)


def digest(n: int) -> Digest:
    return Digest(f"{n:064x}")


def access(n: int, client_id: str = "c1") -> AccessTokenIssued:
    return AccessTokenIssued(
        jti=Jti(f"jti-{n}"),
        client_id=client_id,
        grant_type="authorization_code" if n == 0 else "refresh_token",
        scopes=("openid", "read"),
        expires_at=NOW + timedelta(minutes=5 + n),
        subject="u1",
    )


def refresh(n: int) -> RefreshTokenIssued:
    return RefreshTokenIssued(token_digest=digest(n), expires_at=NOW + REFRESH_TTL)


def rotate(
    presented: Digest, n: int, *, client_id: str = "c1", now: datetime = NOW
) -> RotateRefreshToken:
    return RotateRefreshToken(
        presented=presented, client_id=client_id, now=now, access=access(n), refresh=refresh(n)
    )


STARTED: tuple[TokenFamilyEvent, ...] = (access(0), refresh(0))


def rotated(times: int) -> list[TokenFamilyEvent]:
    """The history of a family started with refresh 0 and rotated `times` times."""
    history: list[TokenFamilyEvent] = list(STARTED)
    for n in range(1, times + 1):
        history += decider.decide(rotate(digest(n - 1), n), fold(decider, history))
    return history


def test_a_family_starts_with_an_access_token_and_optionally_a_refresh_token() -> None:
    with_refresh = family.when(StartFamily(access=access(0), refresh=refresh(0)))
    with_refresh.then(access(0), refresh(0)).and_state_is(Active)
    assert isinstance(with_refresh.state, Active)
    assert with_refresh.state.refresh_digest == digest(0)

    without = family.when(StartFamily(access=access(0))).then(access(0)).and_state_is(Active)
    assert isinstance(without.state, Active)
    assert without.state.refresh_digest is None
    assert refresh_refusal(rotate(digest(0), 1), without.state) == "unknown"


def test_a_family_starts_only_once() -> None:
    family.given(*STARTED).when(StartFamily(access=access(9), refresh=refresh(9))).then_nothing()


def test_the_current_refresh_token_rotates_into_a_new_pair() -> None:
    outcome = family.given(*STARTED).when(rotate(digest(0), 1))
    outcome.then(RefreshTokenRotated(spent_digest=digest(0)), access(1), refresh(1))
    assert isinstance(outcome.state, Active)
    assert outcome.state.refresh_digest == digest(1)
    assert outcome.state.spent == {digest(0)}


def test_reused_refresh_token_revokes_whole_family() -> None:
    history = rotated(1)
    outcome = family.given(*history).when(rotate(digest(0), 2))
    outcome.then(
        RefreshTokenReuseDetected(presented_digest=digest(0)),
        TokenFamilyRevoked(reason="refresh_token_reuse", expires_at=access(1).expires_at),
    ).and_state_is(Revoked)
    assert decider.is_terminal(outcome.state)


def test_a_revoked_family_refuses_every_refresh_without_new_events() -> None:
    history = [*rotated(1), *family.given(*rotated(1)).when(rotate(digest(0), 2)).events]
    revoked = family.given(*history)
    current = rotate(digest(1), 2)  # the token the legitimate holder still has
    revoked.when(current).then_nothing().and_state_is(Revoked)
    revoked.when(rotate(digest(0), 3)).then_nothing()  # a second reuse changes nothing more
    revoked.when(RevokeFamily(reason="admin")).then_nothing()
    assert refresh_refusal(current, fold(decider, history)) == "revoked"


def test_an_expired_refresh_token_is_refused_without_events() -> None:
    started = family.given(*STARTED)
    at_expiry = rotate(digest(0), 1, now=NOW + REFRESH_TTL)
    started.when(at_expiry).then_nothing().and_state_is(Active)
    assert refresh_refusal(at_expiry, fold(decider, STARTED)) == "expired"
    assert (
        refresh_refusal(
            rotate(digest(0), 1, now=NOW + REFRESH_TTL - timedelta(seconds=1)),
            fold(decider, STARTED),
        )
        is None
    )


def test_a_refresh_token_presented_by_another_client_is_refused() -> None:
    other = rotate(digest(0), 1, client_id="c2")
    family.given(*STARTED).when(other).then_nothing()
    assert refresh_refusal(other, fold(decider, STARTED)) == "wrong_client"


def test_an_unknown_refresh_token_is_refused_without_revoking() -> None:
    stranger = rotate(digest(99), 1)
    family.given(*STARTED).when(stranger).then_nothing().and_state_is(Active)
    assert refresh_refusal(stranger, fold(decider, STARTED)) == "unknown"


def test_an_active_family_can_be_revoked() -> None:
    outcome = family.given(*rotated(2)).when(RevokeFamily(reason="consent_withdrawn"))
    # Nothing it revokes outlives the family's latest access token.
    outcome.then(
        TokenFamilyRevoked(reason="consent_withdrawn", expires_at=access(2).expires_at)
    ).and_state_is(Revoked)
    assert isinstance(outcome.state, Revoked)
    assert outcome.state.client_id == "c1"


def test_commands_on_a_family_that_never_started_decide_nothing() -> None:
    nothing = family.given()
    nothing.when(rotate(digest(0), 1)).then_nothing().and_state_is(NoFamily)
    nothing.when(RevokeFamily(reason="admin")).then_nothing()
    nothing.when(RevokeAccessToken(jti=Jti("jti-0"))).then_nothing()
    assert refresh_refusal(rotate(digest(0), 1), NoFamily()) == "unknown"


def test_after_any_number_of_rotations_every_spent_token_is_refused_as_reuse() -> None:
    for rotations in range(1, 6):
        history = rotated(rotations)
        state = fold(decider, history)
        assert isinstance(state, Active)
        assert state.refresh_digest == digest(rotations)
        assert state.spent == {digest(n) for n in range(rotations)}
        for spent in range(rotations):
            family.given(*history).when(rotate(digest(spent), rotations + 1)).then(
                RefreshTokenReuseDetected(presented_digest=digest(spent)),
                TokenFamilyRevoked(
                    reason="refresh_token_reuse", expires_at=access(rotations).expires_at
                ),
            )
        assert refresh_refusal(rotate(digest(rotations), rotations + 1), state) is None


def test_a_revoked_access_token_says_when_revoking_it_stops_mattering() -> None:
    outcome = family.given(*rotated(3)).when(RevokeAccessToken(jti=Jti("jti-1")))
    # The family's latest expiry: never earlier than the revoked token's own.
    outcome.then(AccessTokenRevoked(jti=Jti("jti-1"), expires_at=access(3).expires_at))
    outcome.and_state_is(Active)
