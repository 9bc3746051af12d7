"""A resource server's revocation set: every kind matches what it names, and nothing else."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from itertools import count

from infra.resource_server.revocation_set import RevocationSet
from schemas.access_token import AccessTokenClaims
from schemas.revocations import (
    ClientRevocation,
    Revocation,
    SigningKeyRevocation,
    TokenFamilyRevocation,
    TokenRevocation,
    UserClientRevocation,
    UserRevocation,
    WorkspaceRevocation,
)

T = datetime(2026, 11, 23, 12, 0, 0, 500_000, tzinfo=UTC)  # half past a second
LATER = T + timedelta(hours=1)
NOW = T.timestamp()
_positions = count(1)


def common() -> dict[str, object]:
    position = next(_positions)
    return {
        "event_id": uuid.uuid4(), "global_position": position, "occurred_at": T,
        "expires_at": LATER, "cause": "test",
    }  # fmt: skip


def claims(
    *, sub: str = "u1", client_id: str = "c1", jti: str = "j1", iat: int | None = None,
    family_id: str | None = "f1", workspace_id: str | None = None,
) -> AccessTokenClaims:  # fmt: skip
    issued = int(T.timestamp()) - 60 if iat is None else iat
    return AccessTokenClaims(
        iss="https://id", sub=sub, aud="https://id", client_id=client_id, scope="read",
        jti=jti, iat=issued, exp=issued + 3600, family_id=family_id, workspace_id=workspace_id,
    )  # fmt: skip


def holding(*revocations: Revocation) -> RevocationSet:
    held = RevocationSet()
    for revocation in revocations:
        assert held.apply(revocation, NOW)
    return held


def test_a_token_revocation_matches_its_jti_only() -> None:
    held = holding(TokenRevocation(jti="j1", **common()))  # type: ignore[arg-type]
    assert held.is_revoked(claims(jti="j1"), "k1")
    assert not held.is_revoked(claims(jti="j2"), "k1")


def test_a_family_revocation_matches_every_token_of_the_family() -> None:
    held = holding(TokenFamilyRevocation(family_id="f1", **common()))  # type: ignore[arg-type]
    assert held.is_revoked(claims(jti="a", family_id="f1"), "k1")
    assert held.is_revoked(claims(jti="b", family_id="f1"), "k1")
    assert not held.is_revoked(claims(family_id="f2"), "k1")
    assert not held.is_revoked(claims(family_id=None), "k1")


def test_a_client_revocation_matches_its_tokens_issued_before_and_not_after() -> None:
    held = holding(ClientRevocation(client_id="c1", issued_before=T, **common()))  # type: ignore[arg-type]
    second = int(T.timestamp())  # the whole second T falls in
    assert held.is_revoked(claims(iat=second - 1), "k1")
    # iat has whole seconds: a token of T's own second may predate T, so it is refused.
    assert held.is_revoked(claims(iat=second), "k1")
    assert not held.is_revoked(claims(iat=second + 1), "k1")
    assert not held.is_revoked(claims(client_id="c2"), "k1")
    # A client acting as itself is covered too.
    assert held.is_revoked(claims(sub="c1", client_id="c1"), "k1")


def test_a_consent_revocation_matches_that_user_with_that_client_only() -> None:
    revocation = UserClientRevocation(user_id="u1", client_id="c1", issued_before=T, **common())  # type: ignore[arg-type]
    held = holding(revocation)
    assert held.is_revoked(claims(sub="u1", client_id="c1"), "k1")
    assert not held.is_revoked(claims(sub="u1", client_id="c2"), "k1")
    assert not held.is_revoked(claims(sub="u2", client_id="c1"), "k1")


def test_a_user_revocation_matches_that_users_tokens_but_never_a_clients_own() -> None:
    held = holding(UserRevocation(user_id="u1", issued_before=T, **common()))  # type: ignore[arg-type]
    assert held.is_revoked(claims(sub="u1", client_id="c1"), "k1")
    assert held.is_revoked(claims(sub="u1", client_id="c2"), "k1")
    assert not held.is_revoked(claims(sub="u1", iat=int(T.timestamp()) + 1), "k1")
    # client_credentials: sub is the client's id, even if a user happened to share it.
    assert not held.is_revoked(claims(sub="u1", client_id="u1"), "k1")


def test_a_signing_key_revocation_matches_everything_with_that_kid_even_issued_later() -> None:
    held = holding(SigningKeyRevocation(kid="k1", issued_before=T, **common()))  # type: ignore[arg-type]
    assert held.is_revoked(claims(), "k1")
    assert held.is_revoked(claims(iat=int(T.timestamp()) + 600), "k1")  # forged
    assert not held.is_revoked(claims(), "k2")


def test_a_workspace_revocation_matches_its_clients_tokens() -> None:
    held = holding(WorkspaceRevocation(workspace_id="w1", issued_before=T, **common()))  # type: ignore[arg-type]
    assert held.is_revoked(claims(workspace_id="w1"), "k1")
    assert not held.is_revoked(claims(workspace_id="w2"), "k1")
    assert not held.is_revoked(claims(workspace_id=None), "k1")


def test_the_same_revocation_twice_is_held_once() -> None:
    revocation = TokenRevocation(jti="j1", **common())  # type: ignore[arg-type]
    held = holding(revocation)
    assert not held.apply(revocation, NOW)
    assert (len(held), held.applied, held.duplicates) == (1, 1, 1)


def test_a_later_revocation_of_the_same_client_widens_and_extends_it() -> None:
    first = ClientRevocation(client_id="c1", issued_before=T, **common())  # type: ignore[arg-type]
    later = ClientRevocation(
        client_id="c1", issued_before=T + timedelta(minutes=10),
        **{**common(), "expires_at": LATER + timedelta(minutes=10)},  # type: ignore[arg-type]
    )  # fmt: skip
    held = holding(first, later)
    assert held.is_revoked(claims(iat=int(T.timestamp()) + 300), "k1")
    held.forget_expired(LATER.timestamp() + 1)  # the first one's expiry: the later one stays
    assert held.is_revoked(claims(iat=int(T.timestamp()) + 300), "k1")
    assert len(held) == 1


def test_expired_revocations_are_forgotten_and_never_held() -> None:
    held = holding(
        TokenRevocation(jti="j1", **common()),  # type: ignore[arg-type]
        UserRevocation(user_id="u1", issued_before=T, **common()),  # type: ignore[arg-type]
    )
    assert held.forget_expired(LATER.timestamp() - 1) == 0
    assert held.forget_expired(LATER.timestamp()) == 2
    assert len(held) == 0
    assert not held.is_revoked(claims(jti="j1", sub="u1"), "k1")
    stale = TokenRevocation(jti="j2", **common())  # type: ignore[arg-type]
    assert not held.apply(stale, LATER.timestamp() + 1)
    assert len(held) == 0


def test_leeway_keeps_a_revocation_as_long_as_tokens_are_accepted_past_exp() -> None:
    held = RevocationSet(leeway_s=30)
    held.apply(TokenRevocation(jti="j1", **common()), NOW)  # type: ignore[arg-type]
    held.forget_expired(LATER.timestamp() + 29)
    assert held.is_revoked(claims(jti="j1"), "k1")
    held.forget_expired(LATER.timestamp() + 30)
    assert not held.is_revoked(claims(jti="j1"), "k1")
