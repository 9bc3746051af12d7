"""Events of the `login` stream: one stream per sign-in attempt, successful or refused.

An attempt is its own stream so that concurrent attempts never contend; lockout counts
refusals per account and per source address in the inline `login_throttle` projection.
"""

from __future__ import annotations

from typing import Literal

from schemas.events.base import EventBase

__all__ = ["LoginEvent", "LoginMethod", "LoginRefused", "LoginSucceeded", "RefusalReason"]

# How the credentials arrived: the login page, the password grant at the token endpoint, or
# an ID token from the workspace's identity provider (SSO).
LoginMethod = Literal["page", "password_grant", "sso"]

RefusalReason = Literal[
    "invalid_credentials",
    "otp_required",
    "invalid_otp",
    "password_expired",
    "too_many_attempts",
    "user_disabled",
    "not_allowed",
    # The company signs its people in through its identity provider: no password here.
    "sso_required",
    # The callback's state is not the one this browser was sent off with (CSRF, injection).
    "sso_state_mismatch",
    # The response names another issuer (RFC 9207), or a promised `iss` is missing.
    "sso_issuer_mismatch",
    # The provider refused, or did not answer, or the code could not be exchanged.
    "sso_upstream_error",
    # No ID token, or its signature, iss, aud, exp or nonce is wrong; UserInfo for another sub.
    "sso_id_token_invalid",
    # The person's email is not in a domain the workspace allows.
    "sso_domain_not_allowed",
    # An account would be linked or made by an email the provider does not vouch for.
    "sso_email_unverified",
    # The workspace's SSO was disabled or replaced while the person was at the provider.
    "sso_not_configured",
]


class LoginSucceeded(EventBase, frozen=True, kw_only=True):
    user_id: str
    method: LoginMethod
    client_id: str | None = None
    with_otp: bool = False
    # The TOTP time step consumed, so a code cannot be replayed (RFC 6238 section 5.2).
    otp_step: int | None = None


class LoginRefused(EventBase, frozen=True, kw_only=True):
    # None when the username matches no account (the attempt still counts against the IP).
    user_id: str | None
    method: LoginMethod
    reason: RefusalReason
    client_id: str | None = None


LoginEvent = LoginSucceeded | LoginRefused
