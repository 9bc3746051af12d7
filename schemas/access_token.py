"""The claims of keyledger's JWT access tokens, as resource servers read them (RFC 9068).

https://www.rfc-editor.org/rfc/rfc9068#section-2.2
Besides RFC 9068's claims, a token names its token family (`family_id`, the refresh chain
it belongs to) and, when its client belongs to one, its workspace: revocations match on them
(schemas/revocations.py). The JWS header has `typ: at+jwt` and the signing key's `kid`.
"""

from __future__ import annotations

import msgspec

__all__ = ["AccessTokenClaims"]


class AccessTokenClaims(msgspec.Struct, frozen=True, kw_only=True):
    iss: str
    # The user, or the client itself for client_credentials (then equal to `client_id`).
    sub: str
    aud: str | list[str]
    client_id: str
    scope: str
    jti: str
    iat: int
    exp: int
    nbf: int | None = None
    auth_time: int | None = None
    family_id: str | None = None
    workspace_id: str | None = None

    @property
    def scopes(self) -> frozenset[str]:
        return frozenset(self.scope.split())

    @property
    def user_id(self) -> str | None:
        """The user the token acts for; None when a client acts as itself."""
        return None if self.sub == self.client_id else self.sub
