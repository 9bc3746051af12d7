"""User account rules: registration, password change, TOTP enrolment, disabling, erasure."""

from __future__ import annotations

from datetime import UTC, datetime

from domain.user import (
    Active,
    ChangePassword,
    Disabled,
    DisableUser,
    EnableOtp,
    Erased,
    EraseUser,
    NoUser,
    RegisterUser,
    decider,
)
from schemas.events import (
    PasswordHash,
    Sealed,
    UserDisabled,
    UserErased,
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


def test_disabling_a_user_is_final_but_for_erasure() -> None:
    disabled = user.given(REGISTERED).when(DisableUser(reason="left"))
    disabled.then(UserDisabled(user_id="u1", reason="left")).and_state_is(Disabled)
    assert not decider.is_terminal(disabled.state)  # a disabled account may still be erased
    after = user.given(REGISTERED, *disabled.events)
    after.when(ChangePassword(password_hash=NEW_HASH)).then_nothing().and_state_is(Disabled)
    after.when(EnableOtp(sealed_secret=SEED)).then_nothing()
    after.when(DisableUser(reason="again")).then_nothing()
    after.when(RegisterUser(registered=REGISTERED)).then_nothing()


def test_erasing_a_user_disables_the_account_first_then_forgets_it_for_good() -> None:
    erased = user.given(REGISTERED).when(EraseUser(reason="request 42"))
    erased.then(
        UserDisabled(user_id="u1", reason="erased"), UserErased(user_id="u1", reason="request 42")
    ).and_state_is(Erased)
    assert decider.is_terminal(erased.state)
    after = user.given(REGISTERED, *erased.events)
    after.when(EraseUser()).then_nothing()
    after.when(DisableUser()).then_nothing()
    after.when(ChangePassword(password_hash=NEW_HASH)).then_nothing().and_state_is(Erased)


def test_a_disabled_user_is_erased_without_being_disabled_twice() -> None:
    disabled = UserDisabled(user_id="u1", reason="left")
    user.given(REGISTERED, disabled).when(EraseUser()).then(UserErased(user_id="u1"))
    user.when(EraseUser()).then_nothing().and_state_is(NoUser)
