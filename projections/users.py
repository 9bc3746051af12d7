"""Users and sign-in throttling, inline: accounts, TOTP state and recent failures."""

from __future__ import annotations

import hashlib
from datetime import timedelta
from typing import Final

from projections.projection import Projection, Statement, load_ddl
from schemas.envelope import RecordedEvent
from schemas.events import (
    LoginRefused,
    LoginSucceeded,
    SsoUserProvisioned,
    UserDisabled,
    UserErased,
    UserOtpEnabled,
    UserPasswordChanged,
    UserRegistered,
    to_snake_case,
)
from schemas.personal_data import REDACTED

__all__ = ["COUNTED_REFUSALS", "NAME", "PROJECTION", "erased_username", "source_key", "statements"]

NAME: Final = "users"

# Refusals that are guesses. `otp_required` is the first half of a two-step sign-in and
# `too_many_attempts` would extend a lock forever; neither counts.
COUNTED_REFUSALS: Final = frozenset({"invalid_credentials", "invalid_otp"})
# Failures older than the longest lockout window are never read again.
_KEEP: Final = timedelta(hours=1)

_REGISTER: Final = """
INSERT INTO users (user_id, username, password_hash, password_expires_at, service_account,
                   workspace_id, registered_at)
VALUES ($1, $2, $3, $4, $5, $6, $7)
"""
_SET_HASH: Final = """
UPDATE users SET password_hash = $2, password_expires_at = $3 WHERE user_id = $1
"""
_OTP: Final = "UPDATE users SET otp_sealed = $2, last_otp_step = NULL WHERE user_id = $1"
_DISABLE: Final = "UPDATE users SET disabled = true WHERE user_id = $1"
_OTP_STEP: Final = """
UPDATE users SET last_otp_step = GREATEST(coalesce(last_otp_step, $2), $2) WHERE user_id = $1
"""
_FAIL: Final = "INSERT INTO login_failures (key, failed_at) VALUES ($1, $2)"
# An erased account keeps its row (ids still join to it) without anything personal: it can
# never sign in again, and its username is free for anyone.
_ERASE: Final = """
UPDATE users SET username = $2, password_hash = NULL, password_expires_at = NULL,
    otp_sealed = NULL, last_otp_step = NULL, disabled = true
WHERE user_id = $1
"""
_FORGET_ALL: Final = "DELETE FROM login_failures WHERE key = $1"


def erased_username(user_id: str) -> str:
    """What an erased account's username reads as: redacted, and unique as usernames are."""
    return f"{REDACTED} {user_id}"


def source_key(ip: str) -> str:
    """The lockout key of an address: a digest, so the table holds no address in clear."""
    return "ip:" + hashlib.sha256(ip.encode()).hexdigest()[:32]


def _username(user_id: str, username: str) -> str:
    # A rebuild after an erasure reads the registration's username redacted.
    return erased_username(user_id) if username == REDACTED else username


_FORGET: Final = "DELETE FROM login_failures WHERE key = $1 AND failed_at < $2"


def statements(recorded: RecordedEvent) -> list[Statement]:
    event, at = recorded.event, recorded.occurred_at
    match event:
        case UserRegistered():
            return [
                Statement(
                    _REGISTER,
                    (
                        event.user_id,
                        _username(event.user_id, event.username),
                        event.password_hash,
                        event.password_expires_at,
                        event.service_account,
                        event.workspace_id,
                        at,
                    ),
                )
            ]
        case SsoUserProvisioned():
            # No password: the account signs in through its workspace's provider only.
            username = _username(event.user_id, event.username)
            provisioned = (event.user_id, username, None, None, False, event.workspace_id)
            return [Statement(_REGISTER, (*provisioned, at))]
        case UserPasswordChanged():
            args = (event.user_id, event.password_hash, event.password_expires_at)
            return [Statement(_SET_HASH, args)]
        case UserOtpEnabled():
            return [Statement(_OTP, (event.user_id, event.sealed_secret))]
        case UserDisabled():
            return [Statement(_DISABLE, (event.user_id,))]
        case UserErased(user_id=user_id):
            return [
                Statement(_ERASE, (user_id, erased_username(user_id))),
                Statement(_FORGET_ALL, (f"user:{user_id}",)),
            ]
        case LoginSucceeded(user_id=user_id, otp_step=otp_step):
            # A success clears the account's failures (the address keeps its count).
            cleared = Statement(_FORGET, (f"user:{user_id}", at + timedelta(microseconds=1)))
            if otp_step is None:
                return [cleared]
            return [cleared, Statement(_OTP_STEP, (user_id, otp_step))]
        case LoginRefused(reason=reason) if reason in COUNTED_REFUSALS:
            keys = [f"user:{event.user_id}"] if event.user_id else []
            if recorded.metadata.ip:
                keys.append(source_key(recorded.metadata.ip))
            return [Statement(_FAIL, (key, at)) for key in keys] + [
                Statement(_FORGET, (key, at - _KEEP)) for key in keys
            ]
        case _:
            return []


PROJECTION: Final = Projection(
    name=NAME,
    handles=frozenset(
        to_snake_case(cls.__name__)
        for cls in (
            UserRegistered,
            SsoUserProvisioned,
            UserPasswordChanged,
            UserOtpEnabled,
            UserDisabled,
            UserErased,
            LoginSucceeded,
            LoginRefused,
        )
    ),
    tables=("users", "login_failures"),
    ddl=load_ddl(NAME),
    statements=statements,
    inline=True,
)
