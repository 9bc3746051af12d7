"""User account rules: registration, password change, TOTP enrolment, final disabling."""

from __future__ import annotations

from datetime import UTC, datetime

from domain.user import (
    Active,
    ChangePassword,
    Disabled,
    DisableUser,
    EnableOtp,
    NoUser,
    RegisterUser,
    decider,
)
from schemas.events import (
    PasswordHash,
    Sealed,
    UserDisabled,
    UserOtpEnabled,
    UserPasswordChanged,
    UserRegistered,
)
from tests.deciders import Scenario

EXPIRES = datetime(2027, 1, 1, tzinfo=UTC)
HASH = PasswordHash("$argon2id$v=19$m=65536,t=3,p=4$c2FsdA$aGFzaA")
NEW_HASH = PasswordHash("$argon2id$v=19$m=65536,t=3,p=4$c2FsdDI$aGFzaDI")
SEED = Sealed("k1:c2VhbGVk")
REGISTERED = UserRegistered(user_id="u1", username="ada", password_hash=HASH)
user = Scenario(decider)


def test_a_user_registers_once() -> None:
    user.when(RegisterUser(registered=REGISTERED)).then(REGISTERED).and_state_is(Active)
    again = UserRegistered(user_id="u1", username="other", password_hash=NEW_HASH)
    user.given(REGISTERED).when(RegisterUser(registered=again)).then_nothing()


def test_a_registered_user_changes_password() -> None:
    change = ChangePassword(password_hash=NEW_HASH, password_expires_at=EXPIRES)
    user.given(REGISTERED).when(change).then(
        UserPasswordChanged(user_id="u1", password_hash=NEW_HASH, password_expires_at=EXPIRES)
    ).and_state_is(Active)


def test_a_registered_user_enrols_in_otp() -> None:
    outcome = user.given(REGISTERED).when(EnableOtp(sealed_secret=SEED))
    outcome.then(UserOtpEnabled(user_id="u1", sealed_secret=SEED))
    assert outcome.state == Active(user_id="u1", otp=True)


def test_commands_for_a_user_who_never_registered_decide_nothing() -> None:
    user.when(ChangePassword(password_hash=NEW_HASH)).then_nothing().and_state_is(NoUser)
    user.when(EnableOtp(sealed_secret=SEED)).then_nothing()
    user.when(DisableUser()).then_nothing()


def test_disabling_a_user_is_final() -> None:
    disabled = user.given(REGISTERED).when(DisableUser(reason="left"))
    disabled.then(UserDisabled(user_id="u1", reason="left")).and_state_is(Disabled)
    assert decider.is_terminal(disabled.state)
    after = user.given(REGISTERED, *disabled.events)
    after.when(ChangePassword(password_hash=NEW_HASH)).then_nothing().and_state_is(Disabled)
    after.when(EnableOtp(sealed_secret=SEED)).then_nothing()
    after.when(DisableUser(reason="again")).then_nothing()
    after.when(RegisterUser(registered=REGISTERED)).then_nothing()
