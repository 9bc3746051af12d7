"""What a user or a client held at an instant, folded from the log rather than read from state.

The semantics are token_state's and introspection's (projections/token_state.py,
services/introspection.py), evaluated at `at` instead of now: a token is held when it was
issued at or before `at`, expires after it, was neither revoked (by jti or with its family)
nor spent (a rotated refresh token) by then, its client was active then, and no revocation
predicate recorded by then (client suspended or banned, user disabled, consent withdrawn)
was recorded at or after its issue. Events after `at` are ignored, so the caller may pass
more history than needed. Only each stream's own order matters: every rule across streams
compares instants.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

import msgspec
from schemas.events import (
    AccessTokenIssued,
    AccessTokenRevoked,
    ClientBanned,
    ClientRegistered,
    ClientReinstated,
    ClientSuspended,
    ConsentGranted,
    ConsentWithdrawn,
    Event,
    RefreshTokenIssued,
    RefreshTokenRotated,
    TokenFamilyRevoked,
    UserDisabled,
)
from schemas.http.audit import ClientStatusAt, HeldConsent, HeldToken, Holdings

__all__ = ["Logged", "holdings_at"]


class Logged(msgspec.Struct, frozen=True):
    """An event with the two things the fold needs from its envelope."""

    stream_id: str
    occurred_at: datetime
    event: Event


@dataclass(slots=True)
class _Token:
    token: HeldToken
    digest: str | None = None
    ended: bool = False  # revoked or spent


# A revocation predicate's kind and key, as token_state's `token_revocations` keys them.
_Predicate = tuple[Literal["client", "user", "consent"], str]


def _family_of(stream_id: str) -> str:
    return stream_id.split("-", 1)[1]


class _Fold:
    def __init__(self) -> None:
        self.tokens: list[_Token] = []
        self.by_family: dict[str, list[_Token]] = {}
        self.latest_access: dict[str, HeldToken] = {}
        self.clients: dict[str, ClientStatusAt] = {}
        # The latest instant each predicate was recorded (token_state keeps the GREATEST).
        self.revoked_before: dict[_Predicate, datetime] = {}
        self.consents: dict[tuple[str, str], HeldConsent] = {}
        self.consented: set[tuple[str, str]] = set()

    def apply(self, logged: Logged) -> None:
        event, at = logged.event, logged.occurred_at
        match event:
            case AccessTokenIssued() | RefreshTokenIssued():
                self._issue(_family_of(logged.stream_id), event, at)
            case RefreshTokenRotated(spent_digest=digest):
                family = self.by_family.get(_family_of(logged.stream_id), [])
                for token in family:
                    token.ended = token.ended or token.digest == digest
            case AccessTokenRevoked(jti=jti):
                family = self.by_family.get(_family_of(logged.stream_id), [])
                for token in family:
                    token.ended = token.ended or token.token.jti == jti
            case TokenFamilyRevoked():
                for token in self.by_family.get(_family_of(logged.stream_id), []):
                    token.ended = True
            case ConsentGranted(user_id=user, client_id=client, scopes=scopes):
                self.consents[user, client] = HeldConsent(
                    user_id=user, client_id=client, scopes=scopes, granted_at=at
                )
                self.consented.add((user, client))
            case ConsentWithdrawn(user_id=user, client_id=client):
                self.consents.pop((user, client), None)
                self._predicate(("consent", f"{user} {client}"), at)
            case UserDisabled(user_id=user):
                self._predicate(("user", user), at)
            case _:
                self._client_lifecycle(event, at)

    def _client_lifecycle(self, event: Event, at: datetime) -> None:
        match event:
            case ClientRegistered(client_id=client, workspace_id=workspace):
                self.clients[client] = ClientStatusAt(
                    client_id=client, status="active", workspace_id=workspace
                )
            case ClientSuspended(client_id=client) | ClientBanned(client_id=client):
                status: Literal["suspended", "banned"] = (
                    "banned" if isinstance(event, ClientBanned) else "suspended"
                )
                self._set_status(client, status)
                self._predicate(("client", client), at)
            case ClientReinstated(client_id=client):
                self._set_status(client, "active")
            case _:
                pass

    def _set_status(self, client: str, status: Literal["active", "suspended", "banned"]) -> None:
        known = self.clients.get(client)
        if known is not None and known.status != "banned":  # a ban is final
            self.clients[client] = msgspec.structs.replace(known, status=status)

    def _predicate(self, predicate: _Predicate, at: datetime) -> None:
        previous = self.revoked_before.get(predicate)
        self.revoked_before[predicate] = at if previous is None else max(previous, at)

    def _issue(
        self, family: str, event: AccessTokenIssued | RefreshTokenIssued, at: datetime
    ) -> None:
        if isinstance(event, AccessTokenIssued):
            held = HeldToken(
                kind="access",
                family_id=family,
                client_id=event.client_id,
                subject=event.subject,
                scopes=event.scopes,
                grant_type=event.grant_type,
                issued_at=at,
                expires_at=event.expires_at,
                jti=event.jti,
            )
            self.latest_access[family] = held
            token = _Token(held)
        else:
            # A refresh token belongs to its family's grant, as token_state copies it.
            grant = self.latest_access.get(family)
            if grant is None:
                return
            held = msgspec.structs.replace(
                grant, kind="refresh", issued_at=at, expires_at=event.expires_at, jti=None
            )
            token = _Token(held, digest=event.token_digest)
        self.tokens.append(token)
        self.by_family.setdefault(family, []).append(token)

    def revoked_by_predicate(self, token: HeldToken) -> bool:
        keys: list[_Predicate] = [("client", token.client_id)]
        if token.subject is not None:
            keys += [("user", token.subject), ("consent", f"{token.subject} {token.client_id}")]
        return any(
            (before := self.revoked_before.get(key)) is not None and before >= token.issued_at
            for key in keys
        )

    def held(self, token: _Token, at: datetime) -> bool:
        held = token.token
        client = self.clients.get(held.client_id)
        return (
            not token.ended
            and held.issued_at <= at < held.expires_at
            and client is not None
            and client.status == "active"
            and not self.revoked_by_predicate(held)
        )


@dataclass(frozen=True, slots=True)
class _Question:
    user: str | None
    client: str | None
    workspace: str | None

    def concerns(self, user: str | None, client: str, clients: dict[str, ClientStatusAt]) -> bool:
        if self.user is not None and user != self.user:
            return False
        if self.client is not None and client != self.client:
            return False
        return self.visible(client, clients)

    def visible(self, client: str, clients: dict[str, ClientStatusAt]) -> bool:
        """A workspace's caller sees only its workspace's clients, and what they hold."""
        if self.workspace is None:
            return True
        known = clients.get(client)
        return known is not None and known.workspace_id == self.workspace


def holdings_at(
    history: Iterable[Logged],
    at: datetime,
    *,
    user: str | None = None,
    client: str | None = None,
    workspace: str | None = None,
) -> Holdings:
    """Tokens, scopes and consents of `user` and/or `client` at `at`, from their history.

    `workspace` limits the answer to clients registered in that workspace (None: all).
    """
    fold = _Fold()
    for logged in history:
        if logged.occurred_at <= at:
            fold.apply(logged)
    question = _Question(user, client, workspace)
    concerned = [
        token
        for token in fold.tokens
        if question.concerns(token.token.subject, token.token.client_id, fold.clients)
    ]
    tokens = sorted(
        (token.token for token in concerned if fold.held(token, at)),
        key=lambda held: (held.issued_at, held.family_id, held.kind),
    )
    consents = sorted(
        (
            c
            for c in fold.consents.values()
            if question.concerns(c.user_id, c.client_id, fold.clients)
        ),
        key=lambda c: (c.client_id, c.user_id),
    )
    named = {token.token.client_id for token in concerned}
    named |= {c for u, c in fold.consented if question.concerns(u, c, fold.clients)}
    if client is not None:
        named.add(client)
    return Holdings(
        at=at,
        user=user,
        client=client,
        tokens=tuple(tokens),
        consents=tuple(consents),
        scopes=tuple(sorted({scope for token in tokens for scope in token.scopes})),
        clients=tuple(
            fold.clients[c]
            for c in sorted(named)
            if c in fold.clients and question.visible(c, fold.clients)
        ),
    )
