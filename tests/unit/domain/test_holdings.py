"""Holdings at an instant: one known history, asked about at several instants."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from domain.holdings import Logged, holdings_at
from schemas.events import (
    AccessTokenIssued,
    AccessTokenRevoked,
    ClientBanned,
    ClientRegistered,
    ClientReinstated,
    ClientSuspended,
    ConsentGranted,
    ConsentWithdrawn,
    Digest,
    Event,
    Jti,
    RefreshTokenIssued,
    RefreshTokenRotated,
    TokenFamilyRevoked,
    UserDisabled,
)
from schemas.http.audit import Holdings

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


def issued(jti: str, client: str = "c1", user: str | None = "u1", minute: float = 0) -> Event:
    return AccessTokenIssued(
        jti=Jti(jti),
        client_id=client,
        grant_type="authorization_code" if user else "client_credentials",
        scopes=("openid", "read"),
        expires_at=at(minute + 60),
        subject=user,
    )


def refresh(digest: str, minute: float) -> Event:
    return RefreshTokenIssued(token_digest=Digest(digest), expires_at=at(minute + 24 * 60))


# (minute, stream, event): the story the tests ask about.
STORY: list[tuple[float, str, Event]] = [
    (0, "client-c1", ClientRegistered(client_id="c1", name="c1", confidential=True,
                                      workspace_id="w1")),
    (0, "client-c2", ClientRegistered(client_id="c2", name="c2", confidential=True,
                                      workspace_id="w2")),
    (1, "consent-u1.c1", ConsentGranted(user_id="u1", client_id="c1", scopes=("openid", "read"))),
    (2, "token_family-f1", issued("a1", minute=2)),
    (2, "token_family-f1", refresh("r1", 2)),
    (3, "token_family-f2", issued("a2", minute=3)),
    (3, "token_family-f3", issued("a3", client="c2", user=None, minute=3)),
    (4, "token_family-f2", AccessTokenRevoked(jti=Jti("a2"))),
    # A refresh at minute 10: r1 spent, a new pair in the same family.
    (10, "token_family-f1", RefreshTokenRotated(spent_digest=Digest("r1"))),
    (10, "token_family-f1", issued("a4", minute=10)),
    (10, "token_family-f1", refresh("r2", 10)),
    (20, "consent-u1.c1", ConsentWithdrawn(user_id="u1", client_id="c1")),
    (30, "consent-u1.c1", ConsentGranted(user_id="u1", client_id="c1", scopes=("read",))),
    (31, "token_family-f4", issued("a5", minute=31)),
    (40, "client-c1", ClientSuspended(client_id="c1")),
    (50, "client-c1", ClientReinstated(client_id="c1")),
    (51, "token_family-f5", issued("a6", minute=51)),
    (52, "token_family-f5", TokenFamilyRevoked(reason="revoked")),
    (53, "token_family-f6", issued("a7", minute=53)),
]  # fmt: skip

HISTORY = [Logged(stream, at(minute), event) for minute, stream, event in STORY]


def held(holdings: Holdings) -> list[tuple[str, str | None]]:
    return [(token.kind, token.jti) for token in holdings.tokens]


def test_tokens_are_held_from_issue_until_revoked_spent_or_expired() -> None:
    assert held(holdings_at(HISTORY, at(1.5), user="u1")) == []
    assert held(holdings_at(HISTORY, at(2), user="u1")) == [("access", "a1"), ("refresh", None)]
    # a2 revoked at minute 4; the refresh of minute 10 spends r1 and issues a4 and r2.
    assert held(holdings_at(HISTORY, at(5), user="u1")) == [("access", "a1"), ("refresh", None)]
    eleven = holdings_at(HISTORY, at(11), user="u1")
    assert held(eleven) == [("access", "a1"), ("access", "a4"), ("refresh", None)]
    assert eleven.tokens[-1].issued_at == at(10) and eleven.tokens[-1].family_id == "f1"
    assert eleven.tokens[-1].scopes == ("openid", "read")
    assert eleven.scopes == ("openid", "read")
    # a1 expires at minute 62: past its hour it is no longer held (were it still live).
    assert all(t.jti != "a1" for t in holdings_at(HISTORY[:11], at(62), user="u1").tokens)


def test_withdrawn_consent_ends_the_tokens_issued_before_it_but_not_after() -> None:
    before = holdings_at(HISTORY, at(19), user="u1")
    assert [(c.client_id, c.scopes) for c in before.consents] == [("c1", ("openid", "read"))]
    after = holdings_at(HISTORY, at(21), user="u1")
    assert held(after) == [] and after.consents == () and after.scopes == ()
    regranted = holdings_at(HISTORY, at(32), user="u1")
    assert held(regranted) == [("access", "a5")]
    assert [(c.scopes, c.granted_at) for c in regranted.consents] == [(("read",), at(30))]


def test_a_suspended_client_holds_nothing_and_reinstatement_does_not_revive_old_tokens() -> None:
    suspended = holdings_at(HISTORY, at(45), user="u1")
    assert held(suspended) == []
    assert [(c.client_id, c.status) for c in suspended.clients] == [("c1", "suspended")]
    reinstated = holdings_at(HISTORY, at(54), user="u1")
    # a5 was issued before the suspension, a6's family was revoked: only a7 is held.
    assert held(reinstated) == [("access", "a7")]
    assert reinstated.clients[0].status == "active"


def test_a_ban_is_final_and_a_disabled_user_holds_nothing() -> None:
    banned = [*HISTORY, Logged("client-c1", at(55), ClientBanned(client_id="c1"))]
    banned.append(Logged("client-c1", at(56), ClientReinstated(client_id="c1")))
    assert held(holdings_at(banned, at(57), user="u1")) == []
    disabled = [*HISTORY, Logged("user-u1", at(55), UserDisabled(user_id="u1"))]
    assert held(holdings_at(disabled, at(55), user="u1")) == []


def test_a_client_question_sees_every_user_and_a_workspace_sees_only_its_clients() -> None:
    c2 = holdings_at(HISTORY, at(5), client="c2")
    assert held(c2) == [("access", "a3")] and c2.clients[0].workspace_id == "w2"
    everything = holdings_at(HISTORY, at(5), user="u1")
    assert {t.client_id for t in everything.tokens} == {"c1"}
    assert held(holdings_at(HISTORY, at(5), client="c2", workspace="w1")) == []
    assert holdings_at(HISTORY, at(5), client="c2", workspace="w1").clients == ()
    assert held(holdings_at(HISTORY, at(5), client="c1", workspace="w1")) == [
        ("access", "a1"),
        ("refresh", None),
    ]


def test_events_after_the_instant_change_nothing() -> None:
    assert holdings_at(HISTORY, at(11), user="u1") == holdings_at(HISTORY[:11], at(11), user="u1")
