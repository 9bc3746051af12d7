"""Events of the `signing_key` stream: which keys sign tokens (RFC 7517 key ids).

Only public material is recorded; private keys stay sealed in the key table.
"""

from __future__ import annotations

from schemas.events.base import EventBase

__all__ = ["SigningKeyActivated", "SigningKeyEvent", "SigningKeyRetired", "SigningKeyRevoked"]


class SigningKeyActivated(EventBase, frozen=True, kw_only=True):
    kid: str
    alg: str
    # The public JWK as published in the JWKS, serialised.
    public_jwk: str


class SigningKeyRetired(EventBase, frozen=True, kw_only=True):
    """No longer signs; still published until every token it signed has expired."""

    kid: str


class SigningKeyRevoked(EventBase, frozen=True, kw_only=True):
    """Distrusted (an incident): out of the JWKS at once, and every token it signed is dead.

    Unlike a retirement, which lets the tokens a key signed live out their lifetime.
    """

    kid: str
    reason: str = ""


SigningKeyEvent = SigningKeyActivated | SigningKeyRetired | SigningKeyRevoked
