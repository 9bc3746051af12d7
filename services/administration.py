"""Administrative operations, shared by the admin CLI and the management API.

Both callers get the same answers and the same refusals: `invalid_request` for a bad
value, `not_found` for an unknown client or user, `conflict` when a lifecycle change
does not apply to the current state (a second suspension, a banned client).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Literal

from schemas.envelope import Metadata
from schemas.http.management import (
    ClientCreated,
    ClientList,
    ClientRegistrationRequest,
    ClientSummary,
    KeyRevoked,
    KeysRotated,
    OtpEnrolled,
    SecretRotated,
    UserCreated,
    UserCreation,
)
from services import clients, consents, erasure, revocation, users
from services.authority import Authority
from services.clients import ClientRecord, InvalidRegistration
from services.keys import load_keys, revoke_key, rotate_keys
from services.refusals import Refused

__all__ = [
    "StatusAction",
    "change_client_status",
    "change_password",
    "client_summary",
    "create_client",
    "create_user",
    "disable_user",
    "enrol_otp",
    "erase_user",
    "get_client",
    "list_clients",
    "revoke_signing_key",
    "revoke_user_tokens",
    "revoke_workspace_tokens",
    "rotate_client_secret",
    "rotate_signing_keys",
]

StatusAction = Literal["suspend", "reinstate", "ban"]

_NOT_APPLICABLE: dict[StatusAction, str] = {
    "suspend": "only an active client can be suspended",
    "reinstate": "only a suspended client can be reinstated",
    "ban": "the client is already banned",
}


def _plain(*texts: str | None, what: str = "text") -> None:
    """PostgreSQL text cannot hold NUL: refuse it here, not as a failed write later."""
    if any(text is not None and "\x00" in text for text in texts):
        raise Refused("invalid_request", f"{what} must not contain NUL characters")


def _known(identifier: str, what: str) -> str:
    if "\x00" in identifier or len(identifier) > 255:
        raise Refused("not_found", f"no {what} {identifier!r}")
    return identifier


def client_summary(client: ClientRecord) -> ClientSummary:
    registration = client.registration
    return ClientSummary(
        client_id=client.client_id,
        name=registration.name,
        status=client.status,
        confidential=registration.confidential,
        grant_types=registration.grant_types,
        scopes=registration.scopes,
        redirect_uris=registration.redirect_uris,
        require_pkce=client.requires_pkce,
        token_format=registration.token_format,
        access_token_ttl=registration.access_token_ttl,
        refresh_token_ttl=registration.refresh_token_ttl,
        scope_reasons=registration.scope_reasons,
        review_scopes=registration.review_scopes,
        workspace_id=registration.workspace_id,
    )


async def create_client(
    authority: Authority, request: ClientRegistrationRequest, metadata: Metadata
) -> ClientCreated:
    _plain(
        request.name,
        request.workspace_id,
        *request.scopes,
        *request.redirect_uris,
        *request.review_scopes,
        *request.scope_reasons,
        *request.scope_reasons.values(),
        what="a registration",
    )
    try:
        client_id, secret = await clients.register_client(
            authority.store, authority.hasher, request, metadata
        )
    except InvalidRegistration as error:
        raise Refused("invalid_request", str(error)) from None
    return ClientCreated(client_id=client_id, client_secret=secret)


async def list_clients(authority: Authority) -> ClientList:
    return ClientList(clients=[client_summary(client) for client in await authority.clients.list()])


async def get_client(authority: Authority, client_id: str) -> ClientRecord:
    client = await authority.clients.get(_known(client_id, "client"))
    if client is None:
        raise Refused("not_found", f"no client {client_id!r}")
    return client


async def rotate_client_secret(
    authority: Authority,
    client_id: str,
    overlap_s: int | None,
    metadata: Metadata,
    reason: str = "",
) -> SecretRotated:
    _plain(reason, what="a reason")
    overlap = authority.settings.secret_overlap_s if overlap_s is None else overlap_s
    if not 0 <= overlap <= 30 * 86_400:
        raise Refused("invalid_request", "the overlap must be between 0 s and 30 days")
    client = await get_client(authority, client_id)
    secret = await clients.rotate_secret(
        authority.store, authority.hasher, client.client_id, timedelta(seconds=overlap), metadata,
        reason=reason,
    )  # fmt: skip
    if secret is None:
        raise Refused("conflict", "only an active confidential client has a secret to rotate")
    return SecretRotated(client_id=client.client_id, client_secret=secret)


async def change_client_status(
    authority: Authority, client_id: str, action: StatusAction, reason: str, metadata: Metadata
) -> ClientSummary:
    _plain(reason, what="a reason")
    client = await get_client(authority, client_id)
    if not await clients.set_status(authority.store, client.client_id, action, reason, metadata):
        raise Refused("conflict", f"{_NOT_APPLICABLE[action]} (it is {client.status})")
    return client_summary(await get_client(authority, client_id))


def _ttl(days: int | None) -> timedelta | None:
    if days is None:
        return None
    if not 1 <= days <= 3650:
        raise Refused("invalid_request", "a password lifetime is 1 to 3650 days")
    return timedelta(days=days)


async def _user_id(authority: Authority, username: str) -> str:
    user_id = await users.user_id_of(authority.pool, _known(username, "user"))
    if user_id is None:
        raise Refused("not_found", f"no user {username!r}")
    return user_id


async def create_user(
    authority: Authority, request: UserCreation, metadata: Metadata
) -> UserCreated:
    try:
        user_id = await users.create_user(
            authority.store,
            request.username,
            request.password,
            metadata,
            service_account=request.service_account,
            password_ttl=_ttl(request.password_ttl_days),
        )
    except users.UserExists as error:
        raise Refused("conflict", str(error)) from None
    except ValueError as error:
        raise Refused("invalid_request", str(error)) from None
    if not request.otp:
        return UserCreated(user_id=user_id)
    enrolment = await enrol_otp(authority, request.username, metadata)
    return UserCreated(user_id=user_id, otp_secret=enrolment.otp_secret, otp_uri=enrolment.otp_uri)


async def change_password(
    authority: Authority,
    username: str,
    password: str,
    password_ttl_days: int | None,
    metadata: Metadata,
) -> str:
    user_id = await _user_id(authority, username)
    try:
        changed = await users.set_password(
            authority.store, user_id, password, metadata, password_ttl=_ttl(password_ttl_days)
        )
    except ValueError as error:
        raise Refused("invalid_request", str(error)) from None
    if not changed:
        raise Refused("conflict", f"user {username!r} is disabled")
    return user_id


async def enrol_otp(authority: Authority, username: str, metadata: Metadata) -> OtpEnrolled:
    user_id = await _user_id(authority, username)
    enrolment = await users.enable_otp(
        authority.store,
        authority.sealer,
        user_id,
        username=username,
        issuer=authority.issuer,
        metadata=metadata,
    )
    if enrolment is None:
        raise Refused("conflict", f"user {username!r} is disabled")
    return OtpEnrolled(
        user_id=user_id, otp_secret=enrolment.secret_b32, otp_uri=enrolment.provisioning_uri
    )


async def disable_user(authority: Authority, username: str, reason: str, metadata: Metadata) -> str:
    _plain(reason, what="a reason")
    user_id = await _user_id(authority, username)
    if not await users.disable_user(authority.store, user_id, reason, metadata):
        raise Refused("conflict", f"user {username!r} is already disabled")
    return user_id


async def erase_user(authority: Authority, username: str, reason: str, metadata: Metadata) -> str:
    """Forget a user's personal data (services/erasure.py); the account is disabled first."""
    _plain(reason, what="a reason")
    user_id = await _user_id(authority, username)
    if not await erasure.erase_user(authority, user_id, reason, metadata):
        raise Refused("conflict", f"user {username!r} is erased already")
    return user_id


async def withdraw_consent(
    authority: Authority, username: str, client_id: str, metadata: Metadata
) -> str:
    """End a user's consent to a client: every token of that user for that client stops."""
    user_id = await _user_id(authority, username)
    if not await consents.withdraw_consent(authority, user_id, client_id, metadata):
        raise Refused("not_found", f"user {username!r} has no consent for client {client_id!r}")
    return user_id


async def rotate_signing_keys(authority: Authority, metadata: Metadata) -> KeysRotated:
    kids = await rotate_keys(authority.pool, authority.store, authority.sealer, metadata=metadata)
    # This process signs with the new keys at once; others pick them up within seconds.
    authority.keys = await load_keys(authority.pool, authority.sealer)
    return KeysRotated(kids=kids)


async def revoke_user_tokens(
    authority: Authority, username: str, reason: str, metadata: Metadata
) -> str:
    """Every token of a user stops working (an incident); the account stays usable."""
    _plain(reason, what="a reason")
    user_id = await _user_id(authority, username)
    if not await users.revoke_user_tokens(authority.store, user_id, reason, metadata):
        raise Refused("conflict", f"user {username!r} is disabled: its tokens are revoked")
    return user_id


async def revoke_workspace_tokens(
    authority: Authority, workspace_id: str, reason: str, metadata: Metadata
) -> str:
    """Every token issued so far to a workspace's clients stops working (an incident)."""
    _plain(reason, what="a reason")
    workspace_id = _known(workspace_id, "workspace")
    async with authority.pool.acquire() as conn:
        # A typo must not log a revocation of nothing. Clients may name a workspace that was
        # never created as one (before workspaces were), so either proves it exists.
        known = await conn.fetchval(
            "SELECT EXISTS (SELECT 1 FROM workspaces WHERE workspace_id = $1)"
            " OR EXISTS (SELECT 1 FROM clients WHERE workspace_id = $1)",
            workspace_id,
        )
    if not known:
        raise Refused("not_found", f"there is no workspace {workspace_id!r}")
    await revocation.revoke_workspace_tokens(authority, workspace_id, reason, metadata)
    return workspace_id


async def revoke_signing_key(
    authority: Authority, kid: str, reason: str, metadata: Metadata
) -> KeyRevoked:
    """Distrust a signing key: out of the JWKS, every token it signed dead."""
    _plain(reason, what="a reason")
    kids = await revoke_key(
        authority.pool, authority.store, authority.sealer, _known(kid, "signing key"),
        reason=reason, metadata=metadata,
    )  # fmt: skip
    if kids is None:
        raise Refused("not_found", f"no published signing key {kid!r}")
    # This process stops signing with it at once; others within seconds (KEY_REFRESH_S).
    authority.keys = await load_keys(authority.pool, authority.sealer)
    return KeyRevoked(kid=kid, kids=kids)
