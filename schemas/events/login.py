"""Events of the `login` stream: one stream per sign-in attempt, successful or refused.

An attempt is its own stream so that concurrent attempts never contend; lockout counts
refusals per account and per source address in the inline `login_throttle` projection.
"""

from __future__ import annotations

from typing import Literal

from schemas.events.base import EventBase

__all__ = ["LoginEvent", "LoginMethod", "LoginRefused", "LoginSucceeded", "RefusalReason"]

# How the credentials arrived: the login page, or the password grant at the token endpoint.
LoginMethod = Literal["page", "password_grant"]

RefusalReason = Literal[
    "invalid_credentials",
    "otp_required",
    "invalid_otp",
    "password_expired",
    "too_many_attempts",
    "user_disabled",
    "not_allowed",
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
