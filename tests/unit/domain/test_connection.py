"""Connection rules: the state binds the callback, one refresh claim at a time, and a claim no
worker finished never leads to presenting a possibly spent refresh token again."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from domain import connection as c
from schemas.events import (
    ConnectionAttemptFailed,
    ConnectionEstablished,
    ConnectionExpired,
    ConnectionHealthChecked,
    ConnectionReauthenticationRequired,
    ConnectionRevoked,
    ConnectionStarted,
    Digest,
    UpstreamRefreshFailed,
    UpstreamRefreshStarted,
    UpstreamTokenRefreshed,
)
from schemas.events.connection import ConnectionEvent
from tests.deciders import Scenario

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
started = ConnectionStarted(
    connection_id="c1", provider_id="p1", user_id="u1", scopes=("read",),
    state_digest=Digest("state-digest"), redirect_uri="https://id.example/connections/callback",
    expires_at=NOW + timedelta(minutes=10),
)  # fmt: skip
established = ConnectionEstablished(
    connection_id="c1", provider_id="p1", scopes=("read",), access_token_digest=Digest("a1"),
    refresh_token_digest=Digest("r1"), access_expires_at=NOW + timedelta(hours=1),
)  # fmt: skip
claimed = UpstreamRefreshStarted(
    connection_id="c1", attempt_id="t1", refresh_token_digest=Digest("r1"), trigger="expiry"
)
connected = Scenario(c.decider).given(started, established)
in_flight = connected.given(claimed)
fresh = c.Tokens(
    access_token_digest=Digest("a2"), refresh_token_digest=Digest("r2"),
    access_expires_at=NOW + timedelta(hours=2), refresh_expires_at=None,
)  # fmt: skip
Connection = Scenario[c.ConnectionCommand, ConnectionEvent, c.ConnectionState]


def refused(scenario: Connection, command: c.ConnectionCommand) -> str:
    with pytest.raises(c.ConnectionRefusal) as refusal:
        scenario.when(command)
    return refusal.value.code


def complete(state_digest: str = "state-digest", now: datetime = NOW) -> c.CompleteConnection:
    return c.CompleteConnection(
        state_digest=Digest(state_digest), now=now, tokens=fresh, scopes=("read",)
    )


def test_the_callback_completes_only_with_the_state_it_was_sent_and_only_once() -> None:
    waiting = Scenario(c.decider).given(started)
    assert refused(waiting, complete("forged")) == "not_found"
    outcome = waiting.when(complete())
    assert isinstance(outcome.events[0], ConnectionEstablished)
    assert outcome.state.lifecycle == "active"
    assert refused(waiting.given(*outcome.events), complete()) == "conflict"


def test_a_callback_after_the_authorization_expired_fails_the_attempt() -> None:
    late = Scenario(c.decider).given(started).when(complete(now=NOW + timedelta(minutes=11)))
    assert late.events == [
        ConnectionAttemptFailed(
            connection_id="c1", reason="expired",
            description="the authorization took too long; start again",
        )
    ]  # fmt: skip
    assert late.state.lifecycle == "failed"


def test_one_refresh_claim_at_a_time() -> None:
    connected.when(c.ClaimRefresh(attempt_id="t1", trigger="expiry")).then(claimed)
    assert refused(in_flight, c.ClaimRefresh(attempt_id="t2", trigger="expiry")) == "conflict"


def test_an_answer_closes_its_own_claim_only() -> None:
    in_flight.when(c.RecordRefresh(attempt_id="other", tokens=fresh)).then_nothing()
    outcome = in_flight.when(c.RecordRefresh(attempt_id="t1", tokens=fresh))
    outcome.then(
        UpstreamTokenRefreshed(
            connection_id="c1", attempt_id="t1", access_token_digest=Digest("a2"),
            refresh_token_digest=Digest("r2"), refresh_token_rotated=True,
            access_expires_at=NOW + timedelta(hours=2),
        )
    )  # fmt: skip
    assert outcome.state.claim is None and outcome.state.tokens == fresh


def test_a_provider_that_keeps_its_refresh_token_keeps_it_named() -> None:
    kept = c.Tokens(
        access_token_digest=Digest("a2"), refresh_token_digest=None, access_expires_at=None,
        refresh_expires_at=None,
    )  # fmt: skip
    (refreshed,) = in_flight.when(c.RecordRefresh(attempt_id="t1", tokens=kept)).events
    assert isinstance(refreshed, UpstreamTokenRefreshed)
    assert (refreshed.refresh_token_digest, refreshed.refresh_token_rotated) == ("r1", False)


def test_invalid_grant_means_the_provider_ended_the_grant() -> None:
    outcome = in_flight.when(c.RecordRefreshFailure(attempt_id="t1", error="invalid_grant"))
    assert [type(e) for e in outcome.events] == [UpstreamRefreshFailed, ConnectionRevoked]
    assert outcome.state.lifecycle == "revoked"


def test_an_attempt_in_doubt_must_be_resolved_before_another_claim() -> None:
    doubtful = in_flight.given(
        UpstreamRefreshFailed(connection_id="c1", attempt_id="t1", error="no_answer", in_doubt=True)
    )
    assert refused(doubtful, c.ClaimRefresh(attempt_id="t2", trigger="expiry")) == "conflict"
    released = doubtful.when(c.ResolveOpenClaim(attempt_id="t1", token_spent=False))
    assert released.state.in_doubt is None
    assert doubtful.given(*released.events).when(
        c.ClaimRefresh(attempt_id="t2", trigger="expiry")
    ).events  # fmt: skip


@pytest.mark.parametrize(
    ("spent", "reason"), [(True, "refresh_token_spent"), (None, "refresh_outcome_unknown")]
)
def test_a_claim_whose_token_may_be_spent_needs_reauthentication(
    spent: bool | None, reason: str
) -> None:
    outcome = in_flight.when(c.ResolveOpenClaim(attempt_id="t1", token_spent=spent))
    outcome.then(
        ConnectionReauthenticationRequired(
            connection_id="c1",
            attempt_id="t1",
            reason=reason,  # type: ignore[arg-type]
        )
    )
    assert outcome.state.lifecycle == "needs_reauthentication"
    assert (
        refused(in_flight.given(*outcome.events), c.ClaimRefresh(attempt_id="t2", trigger="expiry"))
        == "conflict"
    )


def test_a_late_answer_to_the_interrupted_claim_brings_the_connection_back() -> None:
    lost = in_flight.given(
        ConnectionReauthenticationRequired(
            connection_id="c1", attempt_id="t1", reason="refresh_outcome_unknown"
        )
    )
    lost.when(c.RecordRefresh(attempt_id="t0", tokens=fresh)).then_nothing()
    assert lost.when(c.RecordRefresh(attempt_id="t1", tokens=fresh)).state.lifecycle == "active"


def test_an_answer_after_a_revocation_is_not_recorded() -> None:
    ended = in_flight.given(ConnectionRevoked(connection_id="c1", cause="owner"))
    ended.when(c.RecordRefresh(attempt_id="t1", tokens=fresh)).then_nothing()
    ended.when(c.RevokeConnection(cause="owner")).then_nothing()


def test_a_dead_access_token_with_nothing_to_renew_it_is_a_revocation() -> None:
    no_refresh = ConnectionEstablished(
        connection_id="c1", provider_id="p1", scopes=(), access_token_digest=Digest("a1")
    )
    check = c.RecordHealthCheck(method="introspection", result="inactive")
    alone = Scenario(c.decider).given(started, no_refresh).when(check)
    assert [type(e) for e in alone.events] == [ConnectionHealthChecked, ConnectionRevoked]
    renewable = connected.when(check)
    assert renewable.state.lifecycle == "active" and renewable.state.refresh_requested


def test_only_a_token_past_its_expiry_with_no_renewal_expires() -> None:
    no_refresh = ConnectionEstablished(
        connection_id="c1", provider_id="p1", scopes=(), access_token_digest=Digest("a1"),
        access_expires_at=NOW,
    )  # fmt: skip
    alone = Scenario(c.decider).given(started, no_refresh)
    assert refused(alone, c.ExpireConnection(now=NOW - timedelta(seconds=1))) == "conflict"
    alone.when(c.ExpireConnection(now=NOW)).then(
        ConnectionExpired(connection_id="c1", expired_at=NOW)
    )
    assert refused(connected, c.ExpireConnection(now=NOW + timedelta(days=1))) == "conflict"
