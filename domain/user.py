"""The user account: registration (or provisioning through SSO), password changes, TOTP
enrolment, links to identity providers, disabling, erasure."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import assert_never

import msgspec
from schemas.events import (
    PasswordHash,
    Sealed,
    SsoIdentityLinked,
    SsoUserProvisioned,
    UserDisabled,
    UserErased,
    UserOtpEnabled,
    UserPasswordChanged,
    UserRegistered,
    UserTokensRevoked,
)
from schemas.events.user import UserEvent

from domain.decider import Decider

__all__ = [
    "ChangePassword",
    "DisableUser",
    "EnableOtp",
    "EraseUser",
    "LinkSsoIdentity",
    "ProvisionSsoUser",
    "RegisterUser",
    "RevokeUserTokens",
    "UserCommand",
    "decider",
]


class RegisterUser(msgspec.Struct, frozen=True, kw_only=True):
    registered: UserRegistered


class ChangePassword(msgspec.Struct, frozen=True, kw_only=True):
    password_hash: PasswordHash
    password_expires_at: datetime | None = None


class EnableOtp(msgspec.Struct, frozen=True, kw_only=True):
    sealed_secret: Sealed


class DisableUser(msgspec.Struct, frozen=True, kw_only=True):
    reason: str = ""


class RevokeUserTokens(msgspec.Struct, frozen=True, kw_only=True):
    reason: str = ""


class EraseUser(msgspec.Struct, frozen=True, kw_only=True):
    """Forget the person: the shell destroys their data key in the same transaction."""

    reason: str = ""


class ProvisionSsoUser(msgspec.Struct, frozen=True, kw_only=True):
    provisioned: SsoUserProvisioned


class LinkSsoIdentity(msgspec.Struct, frozen=True, kw_only=True):
    linked: SsoIdentityLinked


UserCommand = (
    RegisterUser
    | ChangePassword
    | EnableOtp
    | DisableUser
    | RevokeUserTokens
    | EraseUser
    | ProvisionSsoUser
    | LinkSsoIdentity
)


class NoUser(msgspec.Struct, frozen=True):
    pass


class Active(msgspec.Struct, frozen=True, kw_only=True):
    user_id: str
    otp: bool = False


class Disabled(msgspec.Struct, frozen=True, kw_only=True):
    user_id: str


class Erased(msgspec.Struct, frozen=True, kw_only=True):
    user_id: str


UserState = NoUser | Active | Disabled | Erased


def decide(command: UserCommand, state: UserState) -> Sequence[UserEvent]:
    match command, state:
        case RegisterUser(registered=registered), NoUser():
            return [registered]
        case ProvisionSsoUser(provisioned=provisioned), NoUser():
            return [provisioned]
        case LinkSsoIdentity(linked=linked), Active(user_id=user_id) if linked.user_id == user_id:
            return [linked]
        case ChangePassword(), Active(user_id=user_id):
            return [
                UserPasswordChanged(
                    user_id=user_id,
                    password_hash=command.password_hash,
                    password_expires_at=command.password_expires_at,
                )
            ]
        case EnableOtp(sealed_secret=sealed), Active(user_id=user_id):
            return [UserOtpEnabled(user_id=user_id, sealed_secret=sealed)]
        case DisableUser(reason=reason), Active(user_id=user_id):
            return [UserDisabled(user_id=user_id, reason=reason)]
        case RevokeUserTokens(reason=reason), Active(user_id=user_id):
            return [UserTokensRevoked(user_id=user_id, reason=reason)]
        # Disabled first: every token stops and no sign-in can follow; then forgotten.
        case EraseUser(reason=reason), Active(user_id=user_id):
            return [
                UserDisabled(user_id=user_id, reason="erased"),
                UserErased(user_id=user_id, reason=reason),
            ]
        case EraseUser(reason=reason), Disabled(user_id=user_id):
            return [UserErased(user_id=user_id, reason=reason)]
        case _:
            return []


def evolve(state: UserState, event: UserEvent) -> UserState:
    match event:
        case UserRegistered(user_id=user_id) | SsoUserProvisioned(user_id=user_id):
            return Active(user_id=user_id)
        case UserPasswordChanged() | UserTokensRevoked() | SsoIdentityLinked():
            return state
        case UserOtpEnabled():
            return msgspec.structs.replace(state, otp=True) if isinstance(state, Active) else state
        case UserDisabled(user_id=user_id):
            return Disabled(user_id=user_id)
        case UserErased(user_id=user_id):
            return Erased(user_id=user_id)
        case _:
            assert_never(event)


def _is_erased(state: UserState) -> bool:
    return isinstance(state, Erased)


# Disabled is not terminal: a disabled account may still be erased.
decider: Decider[UserCommand, UserEvent, UserState] = Decider(
    initial_state=NoUser(), decide=decide, evolve=evolve, is_terminal=_is_erased
)
