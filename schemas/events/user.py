"""Events of the `user` stream: accounts that sign in with a password and, optionally, TOTP,
or through their company's identity provider (SSO)."""

from __future__ import annotations

from datetime import datetime

from schemas.events.base import EventBase, PasswordHash, Sealed

__all__ = [
    "SsoIdentityLinked",
    "SsoUserProvisioned",
    "UserDisabled",
    "UserErased",
    "UserEvent",
    "UserOtpEnabled",
    "UserPasswordChanged",
    "UserRegistered",
    "UserTokensRevoked",
]


class UserRegistered(EventBase, frozen=True, kw_only=True):
    user_id: str
    username: str
    password_hash: PasswordHash
    # Service accounts are scripts and daemons: they use the password grant, never the pages.
    service_account: bool = False
    password_expires_at: datetime | None = None
    workspace_id: str | None = None


class UserPasswordChanged(EventBase, frozen=True, kw_only=True):
    user_id: str
    password_hash: PasswordHash
    password_expires_at: datetime | None = None


class UserOtpEnabled(EventBase, frozen=True, kw_only=True):
    """TOTP enrolment (RFC 6238); the seed is kept sealed, never in clear."""

    user_id: str
    sealed_secret: Sealed


class UserDisabled(EventBase, frozen=True, kw_only=True):
    """Every token the user holds stops working; the user can no longer sign in."""

    user_id: str
    reason: str = ""


class UserTokensRevoked(EventBase, frozen=True, kw_only=True):
    """Every token the user holds stops working (an incident); the account stays usable."""

    user_id: str
    reason: str = ""


class UserErased(EventBase, frozen=True, kw_only=True):
    """The user's personal data is forgotten: their data key is destroyed, so every sealed
    personal value of theirs in the log reads as redacted from now on (schemas/personal_data.py).
    Carries no personal data itself; the account is disabled first (UserDisabled)."""

    user_id: str
    reason: str = ""


class SsoUserProvisioned(EventBase, frozen=True, kw_only=True):
    """An account made at its first sign-in through a workspace's identity provider (just in
    time): no password; the provider's (issuer, subject) names it from now on."""

    user_id: str
    username: str
    workspace_id: str
    issuer: str
    subject: str
    name: str | None = None


class SsoIdentityLinked(EventBase, frozen=True, kw_only=True):
    """An existing account is reached from now on by the provider's (issuer, subject)."""

    user_id: str
    workspace_id: str
    issuer: str
    subject: str


UserEvent = (
    UserRegistered
    | UserPasswordChanged
    | UserOtpEnabled
    | UserDisabled
    | UserTokensRevoked
    | UserErased
    | SsoUserProvisioned
    | SsoIdentityLinked
)
