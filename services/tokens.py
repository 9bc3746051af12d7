"""Issuing, refreshing and revoking tokens (RFC 6749 section 4-6, RFC 9068, RFC 7009).

Every token is an event appended before the response is sent. Access tokens are JWTs
(RFC 9068) or opaque; refresh tokens are opaque, one-time, and rotate inside their family.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Final

import msgspec

from domain import authorization as authorization_domain
from domain import token_family as family_domain
from infra.crypto.digests import new_token, token_digest
from infra.crypto.jwt import hash_claim
from infra.postgres.event_store import NEW_STREAM, ConcurrencyError, StreamAppend, StreamHead
from schemas.envelope import Metadata
from schemas.events import (
    AccessTokenIssued,
    AuthorizationCodeIssued,
    AuthorizationCodeRedeemed,
    AuthorizationCodeReplayed,
    Event,
    Jti,
    RefreshTokenIssued,
)
from services.authority import Authority
from services.clients import ClientRecord
from services.commands import ATTEMPTS, load, new_events, ordered_id, utcnow
from services.keys import ACCESS_ALG, ID_TOKEN_ALG
from services.refusals import Refused

__all__ = [
    "ACCESS_PREFIX",
    "REFRESH_PREFIX",
    "Grant",
    "TokenResponse",
    "about",
    "family_stream",
    "issue",
    "mint",
    "redeem_code",
    "refresh",
]

ACCESS_PREFIX: Final = "kla_"
REFRESH_PREFIX: Final = "klr_"


class TokenResponse(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    """RFC 6749 section 5.1 (and OpenID Connect Core 3.1.3.3 for `id_token`)."""

    access_token: str
    token_type: str
    expires_in: int
    scope: str
    refresh_token: str | None = None
    id_token: str | None = None


@dataclass(frozen=True, slots=True)
class Grant:
    """What a successful grant hands out, before any token exists."""

    client: ClientRecord
    grant_type: str
    scopes: tuple[str, ...]
    subject: str | None = None
    auth_time: datetime | None = None
    nonce: str | None = None
    with_refresh: bool = False


def family_stream(family_id: str) -> str:
    return f"token_family-{family_id}"


def _access_token(
    authority: Authority, grant: Grant, now: datetime, family_id: str
) -> tuple[str, AccessTokenIssued]:
    registration = grant.client.registration
    jti = Jti(ordered_id())
    expires_at = now + timedelta(seconds=registration.access_token_ttl)
    kid = None
    if registration.token_format == "opaque":
        token = new_token(ACCESS_PREFIX)
    else:
        claims = {
            "iss": authority.issuer,
            "sub": grant.subject or registration.client_id,
            "aud": authority.issuer,
            "client_id": registration.client_id,
            "scope": " ".join(grant.scopes),
            "jti": jti,
            "iat": int(now.timestamp()),
            "exp": int(expires_at.timestamp()),
            # What revocations name (schemas/revocations.py): resource servers match on them.
            "family_id": family_id,
        }
        if registration.workspace_id is not None:
            claims["workspace_id"] = registration.workspace_id
        if grant.auth_time is not None:
            claims["auth_time"] = int(grant.auth_time.timestamp())
        signer = authority.keys.signer(ACCESS_ALG)
        token, kid = signer.sign_jwt(claims, typ="at+jwt"), signer.kid
    event = AccessTokenIssued(
        jti=jti,
        client_id=registration.client_id,
        grant_type=grant.grant_type,
        scopes=grant.scopes,
        expires_at=expires_at,
        subject=grant.subject,
        workspace_id=registration.workspace_id,
        token_digest=token_digest(token),
        kid=kid,
    )
    return token, event


def _id_token(authority: Authority, grant: Grant, access_token: str, now: datetime) -> str:
    """OpenID Connect Core 2 and 3.1.3.6; signed RS256, which every relying party supports."""
    registration = grant.client.registration
    claims: dict[str, object] = {
        "iss": authority.issuer,
        "sub": grant.subject,
        "aud": registration.client_id,
        "azp": registration.client_id,
        "iat": int(now.timestamp()),
        "exp": int(now.timestamp()) + registration.access_token_ttl,
        "at_hash": hash_claim(access_token),
    }
    if grant.auth_time is not None:
        claims["auth_time"] = int(grant.auth_time.timestamp())
    if grant.nonce is not None:
        claims["nonce"] = grant.nonce
    return authority.keys.signer(ID_TOKEN_ALG).sign_jwt(claims)


def mint(
    authority: Authority, grant: Grant, now: datetime, family_id: str
) -> tuple[TokenResponse, list[Event]]:
    """The tokens of one grant and the events that record them (access first, then refresh)."""
    access, issued = _access_token(authority, grant, now, family_id)
    events: list[Event] = [issued]
    refresh_token = None
    if grant.with_refresh:
        refresh_token = new_token(REFRESH_PREFIX)
        ttl = timedelta(seconds=grant.client.registration.refresh_token_ttl)
        events.append(
            RefreshTokenIssued(token_digest=token_digest(refresh_token), expires_at=now + ttl)
        )
    id_token = None
    if "openid" in grant.scopes and grant.subject is not None:
        id_token = _id_token(authority, grant, access, now)
    response = TokenResponse(
        access_token=access,
        token_type="Bearer",
        expires_in=grant.client.registration.access_token_ttl,
        scope=" ".join(grant.scopes),
        refresh_token=refresh_token,
        id_token=id_token,
    )
    return response, events


async def issue(authority: Authority, grant: Grant, metadata: Metadata) -> TokenResponse:
    """Start a new family: a fresh stream, so the append joins a group commit."""
    now = utcnow()
    family_id = ordered_id()
    response, events = mint(authority, grant, now, family_id)
    metadata = about(metadata, grant.subject)
    stream = family_stream(family_id)
    await authority.group.append(
        [StreamAppend(stream, NEW_STREAM, new_events(events, metadata, now))]
    )
    return response


_CODE_REFUSALS: Final[dict[str, tuple[str, str]]] = {
    "unknown_code": ("invalid_code", "the authorization code is not valid"),
    "expired": ("invalid_code", "the authorization code has expired"),
    "replayed": ("invalid_code", "the authorization code was already used"),
    "wrong_client": ("invalid_code", "the authorization code was issued to another client"),
    "redirect_uri_mismatch": (
        "invalid_grant",
        "redirect_uri does not match the authorization request",
    ),
    "pkce_mismatch": ("pkce_mismatch", "code_verifier does not match the code_challenge"),
}


async def redeem_code(
    authority: Authority,
    client: ClientRecord,
    code: str,
    *,
    redirect_uri: str | None,
    code_verifier: str | None,
    metadata: Metadata,
) -> TokenResponse:
    """Exchange a code once (RFC 6749 4.1.3); a replay revokes what the first exchange issued."""
    store = authority.store
    stream = f"authorization-{token_digest(code)}"
    for _ in range(ATTEMPTS):
        now = utcnow()
        state, head = await load(store, authorization_domain.decider, stream)
        command = authorization_domain.RedeemCode(
            client_id=client.client_id,
            redirect_uri=redirect_uri,
            code_verifier=code_verifier,
            now=now,
            family_id=ordered_id(),
        )
        decided = authorization_domain.decide(command, state)
        user_id = _code_user(state)
        metadata = about(metadata, user_id)
        try:
            match decided:
                case [AuthorizationCodeRedeemed(family_id=family_id) as redeemed]:
                    assert isinstance(state, authorization_domain.Issued)
                    if await _code_revoked(authority, client, state.code):
                        raise Refused(
                            "invalid_code", "the authorization code has been revoked",
                            subject=user_id,
                        )  # fmt: skip
                    grant = _code_grant(client, state.code)
                    response, events = mint(authority, grant, now, family_id)
                    await store.append_all(
                        [
                            StreamAppend(stream, head, new_events([redeemed], metadata, now)),
                            StreamAppend(
                                family_stream(family_id),
                                NEW_STREAM,
                                new_events(events, metadata, now),
                            ),
                        ]
                    )
                    return response
                case [AuthorizationCodeReplayed(family_id=family_id) as replayed]:
                    await _revoke_family_with(
                        authority, family_id, "code_replayed", (stream, head, replayed), metadata
                    )
        except ConcurrencyError:
            continue
        reason = authorization_domain.redemption_refusal(command, state) or "replayed"
        error, description = _CODE_REFUSALS[reason]
        raise Refused(error, description, subject=user_id)  # type: ignore[arg-type]
    raise ConcurrencyError([stream])


# Whether a revocation of the client, the user or the consent came after a code was issued.
_CODE_REVOKED: Final = """
SELECT EXISTS (
    SELECT 1 FROM token_revocations
    WHERE revoked_before >= $1
      AND ((kind = 'client' AND key = $2) OR (kind = 'user' AND key = $3)
           OR (kind = 'consent' AND key = $3 || ' ' || $2)
           OR (kind = 'workspace' AND key = $4))
)
"""


async def _code_revoked(
    authority: Authority, client: ClientRecord, code: AuthorizationCodeIssued
) -> bool:
    """A code issued before its consent was withdrawn (or its user disabled) mints nothing."""
    registration = client.registration
    issued_at = code.expires_at - timedelta(seconds=registration.code_ttl)
    async with authority.pool.acquire() as conn:
        revoked: bool = await conn.fetchval(
            _CODE_REVOKED, issued_at, code.client_id, code.user_id, registration.workspace_id
        )
    return revoked


def _code_user(state: authorization_domain.AuthorizationState) -> str | None:
    match state:
        case authorization_domain.Issued(code=code) | authorization_domain.Redeemed(code=code):
            return code.user_id
        case _:
            return None


def about(metadata: Metadata, subject: str | None) -> Metadata:
    """The metadata with the user the events concern, for the audit trail's per-user view."""
    if subject is None or metadata.subject_user == subject:
        return metadata
    return msgspec.structs.replace(metadata, subject_user=subject)


def _code_grant(client: ClientRecord, code: AuthorizationCodeIssued) -> Grant:
    return Grant(
        client=client,
        grant_type="authorization_code",
        scopes=code.scopes,
        subject=code.user_id,
        auth_time=code.auth_time,
        nonce=code.nonce,
        with_refresh=client.allows("refresh_token"),
    )


async def _revoke_family_with(
    authority: Authority,
    family_id: str,
    reason: str,
    also: tuple[str, StreamHead, Event] | None,
    metadata: Metadata,
) -> None:
    """Revoke a family, in the same transaction as one more event on another stream."""
    stream = family_stream(family_id)
    state, head = await load(authority.store, family_domain.decider, stream)
    now = utcnow()
    events = family_domain.decide(family_domain.RevokeFamily(reason=reason), state)
    appends = [StreamAppend(stream, head, new_events(events, metadata, now))] if events else []
    if also is not None:
        other_stream, other_head, event = also
        appends.append(StreamAppend(other_stream, other_head, new_events([event], metadata, now)))
    if appends:
        await authority.store.append_all(appends)


# The family of a refresh token, and whether a revocation predicate covers the token.
_REFRESH_FAMILY: Final = """
SELECT t.family_id, t.subject, EXISTS (
    SELECT 1 FROM token_revocations r
    WHERE r.revoked_before >= t.issued_at
      AND ((r.kind = 'client' AND r.key = t.client_id)
           OR (r.kind = 'user' AND r.key = t.subject)
           OR (r.kind = 'consent' AND r.key = t.subject || ' ' || t.client_id)
           OR (r.kind = 'workspace' AND r.key = t.workspace_id))
) AS covered
FROM token_state t WHERE t.token_digest = $1 AND t.kind = 'refresh'
"""


async def refresh(
    authority: Authority,
    client: ClientRecord,
    refresh_token: str,
    requested: tuple[str, ...],
    metadata: Metadata,
) -> TokenResponse:
    """Rotate a refresh token (RFC 6749 section 6, RFC 9700 4.14.2): one-time use, rolling expiry.

    A spent token presented again revokes the whole family and records the reuse.
    """
    digest = token_digest(refresh_token)
    async with authority.pool.acquire() as conn:
        row = await conn.fetchrow(_REFRESH_FAMILY, digest)
    if row is None:
        raise Refused("invalid_grant", "the refresh token is not valid")
    family_id = row["family_id"]
    if row["covered"]:
        # Issued before a revocation of its client, user or consent: no new tokens from it.
        raise Refused("invalid_grant", "the refresh token has been revoked", subject=row["subject"])
    stream = family_stream(family_id)
    for _ in range(ATTEMPTS):
        now = utcnow()
        state, head = await load(authority.store, family_domain.decider, stream)
        subject = family_domain.subject_of(state)
        metadata = about(metadata, subject)
        if not isinstance(state, family_domain.Active):
            raise Refused("invalid_grant", "the refresh token has been revoked", subject=subject)
        scopes = requested or state.scopes
        if not set(scopes) <= set(state.scopes):
            raise Refused("invalid_scope", "a refresh cannot widen the granted scopes")
        grant = Grant(
            client=client,
            grant_type="refresh_token",
            scopes=scopes,
            subject=state.subject,
            with_refresh=True,
        )
        response, minted = mint(authority, grant, now, family_id)
        access, refreshed = minted
        assert isinstance(access, AccessTokenIssued)
        assert isinstance(refreshed, RefreshTokenIssued)
        command = family_domain.RotateRefreshToken(
            presented=digest, client_id=client.client_id, now=now, access=access, refresh=refreshed
        )
        events = family_domain.decide(command, state)
        if events:
            try:
                await authority.store.append(stream, head, new_events(events, metadata, now))
            except ConcurrencyError:
                continue
        if family_domain.refresh_refusal(command, state) is None:
            return response
        raise Refused("invalid_grant", "the refresh token is not valid", subject=subject)
    raise ConcurrencyError([stream])
