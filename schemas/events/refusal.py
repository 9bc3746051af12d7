"""Events of `refusal` streams: OAuth requests refused for a security-relevant reason.

A bad client secret, an invalid or replayed code, a PKCE mismatch, an unknown refresh token:
each refusal is an event on a fresh stream of its own (DECISIONS 13), so investigators see
failed attempts beside the successes, and concurrent refusals never contend. Nothing the
caller presented as a credential is recorded, only what was claimed and why it failed.
"""

from __future__ import annotations

from typing import Literal

from schemas.events.base import EventBase

__all__ = ["OAuthEndpoint", "RefusalEvent", "TokenRequestRefused"]

OAuthEndpoint = Literal["token", "introspection", "revocation"]


class TokenRequestRefused(EventBase, frozen=True, kw_only=True):
    endpoint: OAuthEndpoint
    # The OAuth error code answered (RFC 6749 5.2 and keyledger's own, e.g. pkce_mismatch).
    error: str
    grant_type: str | None = None
    # The client the caller claimed to be, authenticated or not (bounded in length).
    client_id: str | None = None
    # The user the refused grant was about, when the server knows it (a code's user).
    subject: str | None = None


RefusalEvent = TokenRequestRefused
