"""The token endpoint (RFC 6749 section 3.2): every grant, form or JSON body."""

from __future__ import annotations

from typing import Any, Final

import msgspec

from domain.policies.scopes import granted, parse_scope
from schemas.envelope import Metadata
from schemas.http.oauth import (
    GRANT_REQUESTS,
    AuthorizationCodeRequest,
    ClientCredentialsRequest,
    PasswordRequest,
    RefreshTokenRequest,
    TokenRequest,
)
from services import tokens
from services.api.oauth.client_auth import authenticate_client
from services.api.oauth.endpoint import OAuthRequest, json_post_endpoint, request_metadata
from services.api.oauth.params import read_params
from services.api.rate_limits import client_address, enforce
from services.authority import Authority
from services.clients import ClientRecord
from services.commands import utcnow
from services.refusal_log import record_refusal
from services.refusals import Refused
from services.users import sign_in

__all__ = ["issue_token"]

_encoder: Final = msgspec.json.Encoder()

_LOGIN_REFUSALS: Final[dict[str, tuple[Any, str]]] = {
    "invalid_credentials": ("invalid_credentials", "wrong username or password"),
    "invalid_otp": ("invalid_credentials", "the one-time code is not valid"),
    "user_disabled": ("invalid_credentials", "wrong username or password"),
    "not_allowed": ("invalid_credentials", "this account cannot sign in here"),
    "password_expired": ("password_expired", "the password has expired and must be changed"),
    "otp_required": ("otp_required", "send the one-time code in the x-otp-code header"),
    "too_many_attempts": ("too_many_attempts", "too many failed attempts; retry later"),
    "sso_required": (
        "sso_required",
        "the account's company signs its people in through its identity provider",
    ),
}


def _decode(params: dict[str, str]) -> TokenRequest:
    grant_type = params.get("grant_type")
    if grant_type is None:
        raise Refused("invalid_request", "missing parameter grant_type")
    request_type = GRANT_REQUESTS.get(grant_type)
    if request_type is None:
        raise Refused("unsupported_grant_type", f"grant_type {grant_type!r} is not supported")
    try:
        decoded: TokenRequest = msgspec.convert(params, request_type, strict=False)
        return decoded
    except msgspec.ValidationError as error:
        message = str(error).replace("Object missing required field", "missing parameter")
        raise Refused("invalid_request", message.replace("`$.", "`")) from None


def _scopes(client: ClientRecord, requested: str | None) -> tuple[str, ...]:
    parsed = parse_scope(requested)
    if parsed is None:
        raise Refused("invalid_scope", "malformed scope")
    scopes = granted(parsed, client.registration.scopes)
    if scopes is None:
        raise Refused("invalid_scope", "the requested scope exceeds what the client may hold")
    return scopes


async def token_response(request: OAuthRequest, authority: Authority) -> bytes:
    """RFC 6749 section 5.1: the JSON body of a successful token response."""
    # Most token requests are client_credentials, appended by the group commit: a batch
    # being gathered waits for this one until it appends, or turns out to be another grant.
    with authority.group.expecting():
        return await _token_response(request, authority)


async def _token_response(request: OAuthRequest, authority: Authority) -> bytes:
    params = await read_params(request)
    grant = _decode(params)
    if not isinstance(grant, ClientCredentialsRequest):
        # Codes and refresh tokens append on their own streams; a password is hashed first.
        authority.group.not_coming()
    client = await authenticate_client(authority, request, params, endpoint="token")
    metadata = request_metadata(
        request, client.client_id, workspace_id=client.registration.workspace_id
    )
    try:
        response = await _grant(
            authority, request, client, grant, grant_type=params["grant_type"], metadata=metadata
        )
    except Refused as refused:
        await record_refusal(
            authority, refused, metadata, endpoint="token", client_id=client.client_id,
            grant_type=params["grant_type"],
        )  # fmt: skip
        raise
    return _encoder.encode(response)


async def _grant(
    authority: Authority,
    request: OAuthRequest,
    client: ClientRecord,
    grant: TokenRequest,
    *,
    grant_type: str,
    metadata: Metadata,
) -> tokens.TokenResponse:
    if not client.allows(grant_type):
        raise Refused("unauthorized_client", f"the client may not use {grant_type}")
    match grant:
        case ClientCredentialsRequest():
            if not client.confidential:
                raise Refused(
                    "unauthorized_client", "client_credentials needs a confidential client"
                )
            issued = tokens.Grant(
                client=client, grant_type=grant_type, scopes=_scopes(client, grant.scope)
            )
            return await tokens.issue(authority, issued, metadata)
        case AuthorizationCodeRequest():
            return await tokens.redeem_code(
                authority,
                client,
                grant.code,
                redirect_uri=grant.redirect_uri,
                code_verifier=grant.code_verifier,
                metadata=metadata,
            )
        case RefreshTokenRequest():
            requested = parse_scope(grant.scope)
            if requested is None:
                raise Refused("invalid_scope", "malformed scope")
            return await tokens.refresh(authority, client, grant.refresh_token, requested, metadata)
        case PasswordRequest():
            return await _password_grant(authority, request, client, grant, metadata)


async def _password_grant(
    authority: Authority,
    request: OAuthRequest,
    client: ClientRecord,
    grant: PasswordRequest,
    metadata: Metadata,
) -> tokens.TokenResponse:
    """RFC 6749 4.3, a per-client opt-in for service accounts and scripts (see DESIGN.md)."""
    await enforce(authority, "login", client_address(request), request, client_id=client.client_id)
    scopes = _scopes(client, grant.scope)
    outcome = await sign_in(
        authority.pool,
        authority.group,
        authority.sealer,
        username=grant.username,
        password=grant.password,
        otp_code=request.headers.get("x-otp-code"),
        method="password_grant",
        metadata=metadata,
        client_id=client.client_id,
    )
    if outcome.user_id is None:
        reason = getattr(outcome.event, "reason", "invalid_credentials")
        code, description = _LOGIN_REFUSALS[reason]
        raise Refused(code, description, retry_after=outcome.retry_after)
    issued = tokens.Grant(
        client=client,
        grant_type="password",
        scopes=scopes,
        subject=outcome.user_id,
        auth_time=utcnow(),
        with_refresh=client.allows("refresh_token"),
    )
    return await tokens.issue(authority, issued, metadata)


issue_token = json_post_endpoint("/oauth/token", token_response, "issue_token")
