"""Events of the `authorization` stream: one authorization request, from decision to code use.

RFC 6749 section 4.1 with PKCE (RFC 7636). The stream is named by the code's digest, so a
redemption finds it without an index and every redemption contends on the same head.
"""

from __future__ import annotations

from datetime import datetime

from schemas.events.base import Digest, EventBase

__all__ = [
    "AuthorizationCodeIssued",
    "AuthorizationCodeRedeemed",
    "AuthorizationCodeReplayed",
    "AuthorizationDenied",
    "AuthorizationEvent",
    "AuthorizationFlagged",
]


class AuthorizationCodeIssued(EventBase, frozen=True, kw_only=True):
    code_digest: Digest
    client_id: str
    user_id: str
    redirect_uri: str
    scopes: tuple[str, ...]
    code_challenge: str | None
    expires_at: datetime
    auth_time: datetime
    nonce: str | None = None


class AuthorizationCodeRedeemed(EventBase, frozen=True, kw_only=True):
    """The one successful exchange; `family_id` names the token family it started."""

    family_id: str


class AuthorizationCodeReplayed(EventBase, frozen=True, kw_only=True):
    """A second exchange of a spent code: refused, and the first exchange's tokens revoked."""

    family_id: str


class AuthorizationDenied(EventBase, frozen=True, kw_only=True):
    """The user refused consent: the client is told `access_denied`."""

    client_id: str
    user_id: str
    scopes: tuple[str, ...]


class AuthorizationFlagged(EventBase, frozen=True, kw_only=True):
    """A request for scopes the client may only hold after review."""

    client_id: str
    scopes: tuple[str, ...]


AuthorizationEvent = (
    AuthorizationCodeIssued
    | AuthorizationCodeRedeemed
    | AuthorizationCodeReplayed
    | AuthorizationDenied
    | AuthorizationFlagged
)
