"""Sign-in decisions: which refusal wins, and what a success records."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import msgspec

from domain.login import Account, LoginAttempt, decide_login
from schemas.events import LoginRefused, LoginSucceeded
from schemas.events.login import LoginMethod, RefusalReason

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
USER = Account(
    user_id="u1",
    disabled=False,
    service_account=False,
    password_expires_at=None,
    otp_enabled=False,
)


def attempt(
    account: Account | None = USER,
    *,
    method: LoginMethod = "page",
    locked_until: datetime | None = None,
    password_ok: bool = True,
    otp_presented: bool = False,
    otp_step: int | None = None,
) -> LoginAttempt:
    return LoginAttempt(
        account=account,
        method=method,
        now=NOW,
        client_id="c1",
        locked_until=locked_until,
        password_ok=password_ok,
        otp_presented=otp_presented,
        otp_step=otp_step,
    )


def refusal(of: LoginAttempt) -> RefusalReason:
    event = decide_login(of)
    assert isinstance(event, LoginRefused), event
    return event.reason


def with_(**changes: Any) -> Account:
    return msgspec.structs.replace(USER, **changes)


def test_a_locked_account_is_refused_even_with_the_right_password() -> None:
    locked = attempt(locked_until=NOW + timedelta(seconds=1))
    assert decide_login(locked) == LoginRefused(
        user_id="u1", method="page", reason="too_many_attempts", client_id="c1"
    )
    # Locked wins over every other refusal, so a lock reveals nothing about the account.
    assert refusal(attempt(None, locked_until=NOW + timedelta(seconds=1))) == "too_many_attempts"
    assert refusal(attempt(with_(disabled=True), locked_until=NOW + timedelta(seconds=1))) == (
        "too_many_attempts"
    )
    assert isinstance(decide_login(attempt(locked_until=NOW)), LoginSucceeded)


def test_unknown_account_and_wrong_password_are_the_same_invalid_credentials() -> None:
    assert decide_login(attempt(None, password_ok=False)) == LoginRefused(
        user_id=None, method="page", reason="invalid_credentials", client_id="c1"
    )
    assert decide_login(attempt(password_ok=False)) == LoginRefused(
        user_id="u1", method="page", reason="invalid_credentials", client_id="c1"
    )
    # A wrong password says nothing about the account being disabled or expired.
    assert refusal(attempt(with_(disabled=True), password_ok=False)) == "invalid_credentials"


def test_a_disabled_user_cannot_sign_in() -> None:
    assert refusal(attempt(with_(disabled=True))) == "user_disabled"


def test_a_service_account_uses_the_password_grant_never_the_page() -> None:
    service = with_(service_account=True)
    assert refusal(attempt(service, method="page")) == "not_allowed"
    assert decide_login(attempt(service, method="password_grant")) == LoginSucceeded(
        user_id="u1", method="password_grant", client_id="c1"
    )


def test_an_expired_password_is_refused_from_its_expiry_instant() -> None:
    assert refusal(attempt(with_(password_expires_at=NOW))) == "password_expired"
    later = with_(password_expires_at=NOW + timedelta(seconds=1))
    assert isinstance(decide_login(attempt(later)), LoginSucceeded)


def test_an_enrolled_user_must_present_a_valid_otp() -> None:
    enrolled = with_(otp_enabled=True)
    assert refusal(attempt(enrolled)) == "otp_required"
    assert refusal(attempt(enrolled, otp_presented=True, otp_step=None)) == "invalid_otp"


def test_a_success_records_the_otp_step_it_consumed() -> None:
    enrolled = with_(otp_enabled=True)
    assert decide_login(attempt(enrolled, otp_presented=True, otp_step=59_000_000)) == (
        LoginSucceeded(
            user_id="u1", method="page", client_id="c1", with_otp=True, otp_step=59_000_000
        )
    )
    assert decide_login(attempt()) == LoginSucceeded(user_id="u1", method="page", client_id="c1")
