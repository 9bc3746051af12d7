"""Signing in: the decision on one attempt, from facts the shell has already checked.

The shell verifies the password (argon2id) and the TOTP code (RFC 6238) and looks up the
lockout state; this module turns those facts into the event that records the attempt.
Every refusal is an event: it feeds lockout and the audit trail.
"""

from __future__ import annotations

from datetime import datetime

import msgspec
from schemas.events import LoginRefused, LoginSucceeded
from schemas.events.login import LoginEvent, LoginMethod, RefusalReason

__all__ = ["Account", "LoginAttempt", "decide_login"]


class Account(msgspec.Struct, frozen=True, kw_only=True):
    user_id: str
    disabled: bool
    service_account: bool
    password_expires_at: datetime | None
    otp_enabled: bool


class LoginAttempt(msgspec.Struct, frozen=True, kw_only=True):
    account: Account | None
    method: LoginMethod
    now: datetime
    client_id: str | None = None
    locked_until: datetime | None = None
    password_ok: bool = False
    otp_presented: bool = False
    # The time step a valid, unused TOTP code matched; None if it did not.
    otp_step: int | None = None
    # The username's domain belongs to a workspace whose people must sign in through SSO.
    sso_required: bool = False


def decide_login(attempt: LoginAttempt) -> LoginEvent:
    account, method, client_id = attempt.account, attempt.method, attempt.client_id
    user_id = account.user_id if account is not None else None

    def refused(reason: RefusalReason) -> LoginRefused:
        return LoginRefused(user_id=user_id, method=method, reason=reason, client_id=client_id)

    if attempt.locked_until is not None and attempt.now < attempt.locked_until:
        return refused("too_many_attempts")
    # Decided by the domain, whether or not the account exists: nothing is given away, and no
    # password of the company's people is judged here (service accounts have no other way in).
    if attempt.sso_required and (account is None or not account.service_account):
        return refused("sso_required")
    if account is None or not attempt.password_ok:
        return refused("invalid_credentials")
    if account.disabled:
        return refused("user_disabled")
    if account.service_account and method == "page":
        return refused("not_allowed")
    if account.password_expires_at is not None and attempt.now >= account.password_expires_at:
        return refused("password_expired")
    if account.otp_enabled and not attempt.otp_presented:
        return refused("otp_required")
    if account.otp_enabled and attempt.otp_step is None:
        return refused("invalid_otp")
    return LoginSucceeded(
        user_id=account.user_id,
        method=method,
        client_id=client_id,
        with_otp=account.otp_enabled,
        otp_step=attempt.otp_step,
    )
