"""User accounts and signing in: argon2id passwords, TOTP, lockout, every attempt logged."""

from __future__ import annotations

import asyncio
import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Final

import asyncpg

from domain import user as user_domain
from domain.login import Account, LoginAttempt, decide_login
from domain.policies import lockout, totp
from domain.sso import email_domain
from infra.crypto.passwords import hash_password, verify_against_dummy, verify_password
from infra.crypto.sealing import Sealer
from infra.postgres.batching import GroupCommit
from infra.postgres.event_store import EventStore
from projections.sso_queries import sso_required
from projections.users import source_key
from schemas.envelope import Metadata
from schemas.events import LoginRefused, LoginSucceeded, PasswordHash, Sealed, UserRegistered
from schemas.events.login import LoginEvent, LoginMethod
from schemas.personal_data import REDACTED
from services.commands import append_to_new_stream, execute, utcnow

__all__ = [
    "MIN_PASSWORD_LENGTH",
    "OtpEnrolment",
    "SignIn",
    "UserExists",
    "create_user",
    "disable_user",
    "enable_otp",
    "revoke_user_tokens",
    "set_password",
    "sign_in",
    "user_id_of",
]

MIN_PASSWORD_LENGTH: Final = 8
_USERNAME_TAKEN: Final = "users_username_key"


class UserExists(ValueError):
    """The username is already registered."""


@dataclass(frozen=True, slots=True)
class OtpEnrolment:
    secret_b32: str
    provisioning_uri: str


async def _password_hash(password: str) -> PasswordHash:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise ValueError(f"a password needs at least {MIN_PASSWORD_LENGTH} characters")
    # argon2id is deliberately slow: off the event loop.
    return await asyncio.to_thread(hash_password, password)


async def create_user(
    store: EventStore,
    username: str,
    password: str,
    metadata: Metadata,
    *,
    service_account: bool = False,
    password_ttl: timedelta | None = None,
    workspace_id: str | None = None,
) -> str:
    if not username or len(username) > 255 or not username.isprintable():
        raise ValueError("a username is 1 to 255 printable characters")
    if username.startswith(REDACTED):
        # What erased accounts' usernames read as: taking one would block that erasure.
        raise ValueError(f"a username may not start with {REDACTED!r}")
    user_id = uuid.uuid4().hex
    registered = UserRegistered(
        user_id=user_id,
        username=username,
        password_hash=await _password_hash(password),
        service_account=service_account,
        password_expires_at=utcnow() + password_ttl if password_ttl is not None else None,
        workspace_id=workspace_id,
    )
    command = user_domain.RegisterUser(registered=registered)
    try:
        await execute(store, user_domain.decider, f"user-{user_id}", command, metadata)
    except asyncpg.UniqueViolationError as error:
        if error.constraint_name == _USERNAME_TAKEN:
            raise UserExists(f"username {username!r} is taken") from None
        raise
    return user_id


async def user_id_of(pool: asyncpg.Pool, username: str) -> str | None:
    async with pool.acquire() as conn:
        found: str | None = await conn.fetchval(
            "SELECT user_id FROM users WHERE username = $1", username
        )
    return found


async def set_password(
    store: EventStore,
    user_id: str,
    password: str,
    metadata: Metadata,
    *,
    password_ttl: timedelta | None = None,
) -> bool:
    command = user_domain.ChangePassword(
        password_hash=await _password_hash(password),
        password_expires_at=utcnow() + password_ttl if password_ttl is not None else None,
    )
    return bool(await execute(store, user_domain.decider, f"user-{user_id}", command, metadata))


async def enable_otp(
    store: EventStore,
    sealer: Sealer,
    user_id: str,
    *,
    username: str,
    issuer: str,
    metadata: Metadata,
) -> OtpEnrolment | None:
    """Enrol TOTP (RFC 6238): a fresh 160-bit seed, sealed; shown to the user once."""
    raw = secrets.token_bytes(20)
    sealed = sealer.seal(raw, context=f"totp:{user_id}")
    command = user_domain.EnableOtp(sealed_secret=sealed)
    if not await execute(store, user_domain.decider, f"user-{user_id}", command, metadata):
        return None
    secret = totp.b32_secret(raw)
    label = issuer.split("://", 1)[-1].replace(":", "_")
    return OtpEnrolment(secret, totp.provisioning_uri(secret, username.replace(":", "_"), label))


async def disable_user(store: EventStore, user_id: str, reason: str, metadata: Metadata) -> bool:
    command = user_domain.DisableUser(reason=reason)
    return bool(await execute(store, user_domain.decider, f"user-{user_id}", command, metadata))


async def revoke_user_tokens(
    store: EventStore, user_id: str, reason: str, metadata: Metadata
) -> bool:
    """Every token the user holds stops working; False if the account is disabled already."""
    command = user_domain.RevokeUserTokens(reason=reason)
    return bool(await execute(store, user_domain.decider, f"user-{user_id}", command, metadata))


@dataclass(frozen=True, slots=True)
class SignIn:
    """The recorded outcome of one attempt, and when a locked-out caller may try again."""

    event: LoginEvent
    retry_after: int | None = None

    @property
    def user_id(self) -> str | None:
        return self.event.user_id if isinstance(self.event, LoginSucceeded) else None


_ACCOUNT: Final = """
SELECT user_id, password_hash, password_expires_at, service_account, otp_sealed, last_otp_step,
       disabled
FROM users WHERE username = $1
"""
_FAILURES: Final = """
SELECT key, array_agg(failed_at) AS failures FROM login_failures
WHERE key = ANY($1::text[]) AND failed_at > $2 GROUP BY key
"""


async def _locked_until(
    pool: asyncpg.Pool, user_id: str | None, ip: str | None, now: datetime
) -> datetime | None:
    keys = {f"user:{user_id}": lockout.ACCOUNT} if user_id else {}
    if ip:
        keys[source_key(ip)] = lockout.SOURCE
    if not keys:
        return None
    window = max(policy.window for policy in keys.values())
    async with pool.acquire() as conn:
        rows = await conn.fetch(_FAILURES, list(keys), now - window)
    until = [lockout.locked_until(keys[row["key"]], row["failures"], now) for row in rows]
    return max((at for at in until if at is not None), default=None)


async def sign_in(
    pool: asyncpg.Pool,
    group: GroupCommit,
    sealer: Sealer,
    *,
    username: str,
    password: str,
    otp_code: str | None,
    method: LoginMethod,
    metadata: Metadata,
    client_id: str | None = None,
) -> SignIn:
    """Check credentials, decide, and append the attempt as its own `login` stream."""
    now = utcnow()
    row, required = None, False
    # PostgreSQL text cannot hold NUL, so no such account exists: an unknown user, not a 500.
    if "\x00" not in username:
        domain = email_domain(username)
        async with pool.acquire() as conn:
            row = await conn.fetchrow(_ACCOUNT, username)
            required = domain is not None and await sso_required(conn, domain)
    account = None
    if row is not None:
        account = Account(
            user_id=row["user_id"],
            disabled=row["disabled"],
            service_account=row["service_account"],
            password_expires_at=row["password_expires_at"],
            otp_enabled=row["otp_sealed"] is not None,
        )
    locked = await _locked_until(pool, account.user_id if account else None, metadata.ip, now)
    password_ok = False
    otp_step = None
    if locked is None:
        if row is None or row["password_hash"] is None:  # no account, or one without password
            await asyncio.to_thread(verify_against_dummy, password)
        else:
            password_ok = await asyncio.to_thread(
                verify_password, PasswordHash(row["password_hash"]), password
            )
        if password_ok and row is not None and row["otp_sealed"] is not None and otp_code:
            key = sealer.open(Sealed(row["otp_sealed"]), context=f"totp:{row['user_id']}")
            otp_step = totp.verify_totp(
                key, otp_code, int(now.timestamp()), last_used_step=row["last_otp_step"]
            )
    event = decide_login(
        LoginAttempt(
            account=account,
            method=method,
            now=now,
            client_id=client_id,
            locked_until=locked,
            password_ok=password_ok,
            otp_presented=bool(otp_code),
            otp_step=otp_step,
            sso_required=required,
        )
    )
    subject = account.user_id if account else None
    meta = Metadata(
        actor="user" if subject else metadata.actor,
        actor_id=subject,
        subject_user=subject,
        client_id=client_id,
        ip=metadata.ip,
        user_agent=metadata.user_agent,
        request_id=metadata.request_id,
        correlation_id=metadata.correlation_id,
    )
    await append_to_new_stream(group, "login", [event], meta, now)
    retry_after = None
    if isinstance(event, LoginRefused) and event.reason == "too_many_attempts" and locked:
        retry_after = max(1, int((locked - now).total_seconds()) + 1)
    return SignIn(event, retry_after)
