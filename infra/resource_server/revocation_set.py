"""The revocations a resource server holds, and whether one matches a token, in O(1).

One dictionary per kind of revocation (schemas/revocations.py), keyed the way a token names
the thing revoked, so a check is at most seven lookups whatever the number of revocations.
Applying a revocation twice changes nothing; each is forgotten once it has expired.
"""

from __future__ import annotations

import heapq
from typing import Final, Generic, TypeVar, assert_never
from uuid import UUID

from schemas.access_token import AccessTokenClaims
from schemas.revocations import (
    ApiKeyRevocation,
    ClientRevocation,
    Revocation,
    SigningKeyRevocation,
    TokenFamilyRevocation,
    TokenRevocation,
    UserClientRevocation,
    UserRevocation,
    WorkspaceRevocation,
)

__all__ = ["RevocationSet"]

K = TypeVar("K", str, tuple[str, str], UUID)
_EVERY: Final = float("inf")


class _Table(Generic[K]):
    """Revoked keys of one kind: issued_before (epoch seconds; inf = every token) by key, and
    a heap of expiries to forget them."""

    __slots__ = ("_expiries", "entries")

    def __init__(self) -> None:
        self.entries: dict[K, tuple[float, float]] = {}
        self._expiries: list[tuple[float, K]] = []

    def hold(self, key: K, before: float, forget_at: float) -> None:
        held = self.entries.get(key)
        if held is not None:
            # Both only grow: more tokens covered, remembered for longer.
            before, forget_at = max(held[0], before), max(held[1], forget_at)
        self.entries[key] = (before, forget_at)
        heapq.heappush(self._expiries, (forget_at, key))

    def covers(self, key: K, iat: int) -> bool:
        entry = self.entries.get(key)
        return entry is not None and iat < entry[0]

    def forget(self, now: float) -> int:
        forgotten = 0
        while self._expiries and self._expiries[0][0] <= now:
            forget_at, key = heapq.heappop(self._expiries)
            entry = self.entries.get(key)
            # A later revocation of the same key may have pushed its expiry further.
            if entry is not None and entry[1] <= forget_at:
                del self.entries[key]
                forgotten += 1
        return forgotten


class RevocationSet:
    """Revocations by what they name; `is_revoked` answers for one token's claims."""

    def __init__(self, *, leeway_s: float = 0.0) -> None:
        # Kept this much past `expires_at`, as long as tokens are accepted past `exp`.
        self._leeway = leeway_s
        self._tokens: _Table[str] = _Table()
        self._families: _Table[str] = _Table()
        self._clients: _Table[str] = _Table()
        self._user_clients: _Table[tuple[str, str]] = _Table()
        self._users: _Table[str] = _Table()
        self._keys: _Table[str] = _Table()
        self._workspaces: _Table[str] = _Table()
        self._api_keys: _Table[str] = _Table()
        # Every revocation held, by the id of the event that caused it: applied once each.
        self._events: _Table[UUID] = _Table()
        self.applied = 0
        self.duplicates = 0
        self.last_position = 0

    def __len__(self) -> int:
        return len(self._events.entries)

    def holds(self, event_id: UUID) -> bool:
        return event_id in self._events.entries

    def apply(self, revocation: Revocation, now: float) -> bool:
        """Hold a revocation; False when it is already held or has already expired."""
        forget_at = revocation.expires_at.timestamp() + self._leeway
        if revocation.event_id in self._events.entries:
            self.duplicates += 1
            return False
        if forget_at <= now:
            return False
        self._events.hold(revocation.event_id, _EVERY, forget_at)
        self.applied += 1
        self.last_position = max(self.last_position, revocation.global_position)
        self._hold(revocation, forget_at)
        return True

    def _hold(self, revocation: Revocation, forget_at: float) -> None:
        match revocation:
            case TokenRevocation(jti=jti):
                self._tokens.hold(jti, _EVERY, forget_at)
            case TokenFamilyRevocation(family_id=family_id):
                self._families.hold(family_id, _EVERY, forget_at)
            case ClientRevocation(client_id=client_id, issued_before=before):
                self._clients.hold(client_id, before.timestamp(), forget_at)
            case UserClientRevocation(user_id=user_id, client_id=client_id, issued_before=before):
                self._user_clients.hold((user_id, client_id), before.timestamp(), forget_at)
            case UserRevocation(user_id=user_id, issued_before=before):
                self._users.hold(user_id, before.timestamp(), forget_at)
            case SigningKeyRevocation(kid=kid):
                # The key signs nothing after the revocation: a later token with it is forged.
                self._keys.hold(kid, _EVERY, forget_at)
            case WorkspaceRevocation(workspace_id=workspace_id, issued_before=before):
                self._workspaces.hold(workspace_id, before.timestamp(), forget_at)
            case ApiKeyRevocation(key_id=key_id):
                self._api_keys.hold(key_id, _EVERY, forget_at)
            case _:
                assert_never(revocation)

    def is_api_key_revoked(self, key_id: str) -> bool:
        """Whether a cached introspection answer for this workspace API key must be dropped."""
        return self._api_keys.covers(key_id, 0)

    def is_revoked(self, claims: AccessTokenClaims, kid: str) -> bool:
        """Whether any revocation held matches this token (schemas/revocations.py's table)."""
        iat = claims.iat
        if (
            claims.jti in self._tokens.entries
            or kid in self._keys.entries
            or (claims.family_id is not None and claims.family_id in self._families.entries)
            or self._clients.covers(claims.client_id, iat)
            or (
                claims.workspace_id is not None
                and self._workspaces.covers(claims.workspace_id, iat)
            )
        ):
            return True
        if claims.sub == claims.client_id:  # a client acting as itself: no user to match
            return False
        return self._users.covers(claims.sub, iat) or self._user_clients.covers(
            (claims.sub, claims.client_id), iat
        )

    def forget_expired(self, now: float) -> int:
        """Drop what has expired; returns how many revocations were forgotten."""
        for table in (
            self._tokens,
            self._families,
            self._clients,
            self._user_clients,
            self._users,
            self._keys,
            self._workspaces,
            self._api_keys,
        ):
            table.forget(now)
        return self._events.forget(now)
