"""Connecting an account: to the provider's authorization endpoint and back (RFC 6749 4.1).

https://www.rfc-editor.org/rfc/rfc9700#section-2.1  Authorization code with PKCE S256 (RFC
7636), a `state` bound to the connection (only its digest is kept), a `nonce` checked in any
ID token, and the `iss` of the response checked when present or promised (RFC 9207). The
PKCE verifier and the nonce are HMACs of the state under a key of keyledger's: nothing
secret is stored, and a stolen callback URL (code and state) cannot be redeemed elsewhere.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Final
from urllib.parse import urlencode, urlsplit

import msgspec

from domain import connection as domain
from domain.policies.pkce import challenge_s256
from domain.provider import scopes_problem
from infra.crypto.digests import token_digest
from infra.upstream import oauth
from infra.upstream.http import InDoubt, Unsent
from infra.upstream.id_token import IdTokenError, check_id_token, fetch_keys
from infra.upstream.issuer import issuer_problem
from projections import connection_queries
from projections.connection_queries import ConnectionRow
from schemas.envelope import Metadata
from schemas.events import ProviderRegistered
from services.commands import random_id, utcnow
from services.connections.connector import Connector
from services.connections.providers import require_workspace_role
from services.connections.recorder import NewTokens, record, refused
from services.refusals import Reason, Refused

__all__ = ["Callback", "Started", "complete", "granted_tokens", "start"]

_STATE_BYTES: Final = 32
_ERROR_CODE: Final = re.compile(r"[\x20\x21\x23-\x5b\x5d-\x7e]{1,64}")
_MAX_PARAM: Final = 4096


class Started(msgspec.Struct, frozen=True, kw_only=True):
    connection_id: str
    authorization_url: str
    expires_at: datetime


class Callback(msgspec.Struct, frozen=True, kw_only=True):
    """The query of the provider's redirect back to keyledger (RFC 6749 4.1.2, 4.1.2.1)."""

    state: str | None = None
    code: str | None = None
    iss: str | None = None
    error: str | None = None
    error_description: str | None = None


def _derived(connector: Connector, purpose: str, state: str) -> str:
    mac = hmac.new(connector.flow_key, f"{purpose}:{state}".encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(mac).rstrip(b"=").decode("ascii")


def _authorization_url(provider: ProviderRegistered, params: dict[str, str]) -> str:
    endpoint = provider.authorization_endpoint
    joiner = "&" if urlsplit(endpoint).query else "?"
    return endpoint + joiner + urlencode(params)


async def start(
    connector: Connector,
    *,
    provider_name: str,
    user_id: str,
    workspace_id: str | None,
    scopes: Sequence[str] | None,
    metadata: Metadata,
) -> Started:
    """A pending connection, and where to send the user's browser to authorize it."""
    if workspace_id is not None:
        await require_workspace_role(connector, workspace_id, user_id, "admin")
    async with connector.pool.acquire() as conn:
        found = await connection_queries.provider_named(conn, provider_name, workspace_id)
    if found is None:
        raise Refused("not_found", f"no provider named {provider_name!r} is available here")
    provider = found.registration
    requested = tuple(dict.fromkeys(scopes)) if scopes else provider.scopes
    problem = scopes_problem(requested)
    if problem is not None:
        raise Refused("invalid_scope", problem)
    state = secrets.token_urlsafe(_STATE_BYTES)
    connection_id, now = random_id(), utcnow()
    expires_at = now + timedelta(seconds=connector.settings.connection_start_ttl_s)
    command = domain.StartConnection(
        connection_id=connection_id, provider_id=provider.provider_id, user_id=user_id,
        workspace_id=workspace_id, scopes=requested, state_digest=token_digest(state),
        redirect_uri=connector.callback_uri, expires_at=expires_at,
    )  # fmt: skip
    try:
        await record(connector, connection_id, command, metadata)
    except domain.ConnectionRefusal as refusal:
        raise refused(refusal) from None
    params = {
        "response_type": "code",
        "client_id": provider.client_id,
        "redirect_uri": connector.callback_uri,
        "scope": " ".join(requested),
        "state": state,
        "code_challenge": challenge_s256(_derived(connector, "pkce", state)),
        "code_challenge_method": "S256",
        "nonce": _derived(connector, "nonce", state),
    }
    url = _authorization_url(provider, {k: v for k, v in params.items() if v})
    return Started(connection_id=connection_id, authorization_url=url, expires_at=expires_at)


def granted_tokens(granted: oauth.Granted, now: datetime) -> tuple[NewTokens, domain.Tokens]:
    def after(seconds: int | None) -> datetime | None:
        return None if seconds is None or seconds <= 0 else now + timedelta(seconds=seconds)

    refresh = granted.refresh_token
    digests = domain.Tokens(
        access_token_digest=token_digest(granted.access_token.reveal()),
        refresh_token_digest=token_digest(refresh.reveal()) if refresh else None,
        access_expires_at=after(granted.expires_in),
        refresh_expires_at=after(granted.refresh_expires_in),
    )
    return NewTokens(access=granted.access_token, refresh=refresh), digests


@dataclass(frozen=True, slots=True)
class _Pending:
    """A callback whose state names a pending connection: each refusal from here on is also
    recorded on the connection (`connection_attempt_failed`), which then is over."""

    connector: Connector
    connection_id: str
    state: str
    row: ConnectionRow
    provider: ProviderRegistered
    metadata: Metadata

    async def fail(
        self, reason: str, description: str, *, answer: Reason = "invalid_request"
    ) -> Refused:
        command = domain.FailConnection(
            state_digest=token_digest(self.state), reason=reason, description=description
        )
        try:
            await record(self.connector, self.connection_id, command, self.metadata)
        except domain.ConnectionRefusal as refusal:
            return refused(refusal)
        return Refused(answer, description)

    def derived(self, purpose: str) -> str:
        return _derived(self.connector, purpose, self.state)


async def _pending(connector: Connector, callback: Callback, metadata: Metadata) -> _Pending:
    state = callback.state
    if not state or len(state) > _MAX_PARAM:
        raise Refused("invalid_request", "the callback carries no state")
    async with connector.pool.acquire() as conn:
        connection_id = await connection_queries.pending_by_state(conn, token_digest(state))
        row = await connection_queries.connection(conn, connection_id) if connection_id else None
        found = await connection_queries.provider(conn, row.provider_id) if row else None
    if row is None or found is None:
        raise Refused("invalid_request", "no authorization is waiting for this state")
    return _Pending(connector, row.connection_id, state, row, found.registration, metadata)


async def _subject(pending: _Pending, id_token: str | None, now: datetime) -> str | None:
    """The account's `sub` from a checked ID token (OIDC Core 3.1.3.7), if one came back."""
    if id_token is None:
        return None
    provider, http = pending.provider, pending.connector.http
    try:
        keys = await fetch_keys(http, provider.jwks_uri) if provider.jwks_uri else None
        return check_id_token(
            id_token, issuer=provider.issuer, client_id=provider.client_id,
            nonce=pending.derived("nonce"), now=now, keys=keys,
        )  # fmt: skip
    except IdTokenError as error:
        raise await pending.fail("id_token_invalid", str(error)) from None


async def _redeem(pending: _Pending, callback: Callback) -> oauth.Granted:
    """The code for tokens, once the response proved to be this authorization's."""
    problem = _issuer_problem(pending.provider, callback.iss)
    if problem is not None:
        raise await pending.fail("issuer_mismatch", problem)
    if callback.error is not None:
        # RFC 6749 4.1.2.1: an error code is printable ASCII without '"' and '\\'.
        error = callback.error if _ERROR_CODE.fullmatch(callback.error) else "invalid_error"
        description = f"the provider answered {error!r}: nothing was connected"
        raise await pending.fail(error, description, answer="access_denied")
    if not callback.code or len(callback.code) > _MAX_PARAM:
        raise await pending.fail("invalid_request", "the callback carries no code")
    if utcnow() >= pending.row.start_expires_at:
        raise await pending.fail("expired", "the authorization took too long; start again")
    provider, connector = pending.provider, pending.connector
    outcome = await oauth.redeem_code(
        connector.http, provider.token_endpoint, connector.credentials(provider),
        code=callback.code, redirect_uri=connector.callback_uri,
        code_verifier=pending.derived("pkce"),
    )  # fmt: skip
    if isinstance(outcome, Unsent | InDoubt):
        description = f"the provider did not answer ({outcome.reason}); start again"
        raise await pending.fail(
            "upstream_unavailable", description, answer="temporarily_unavailable"
        )
    if isinstance(outcome, oauth.Refused):
        raise await pending.fail("code_refused", f"the provider refused the code: {outcome.error}")
    return outcome


async def complete(connector: Connector, callback: Callback, metadata: Metadata) -> str:
    """Exchange the code and store the connection; returns its id. Every way it can go wrong
    is a `Refused`, and, once the state names a connection, a `connection_attempt_failed`."""
    pending = await _pending(connector, callback, metadata)
    granted = await _redeem(pending, callback)
    now = utcnow()
    subject = await _subject(pending, granted.id_token, now)
    tokens, digests = granted_tokens(granted, now)
    scopes = tuple(granted.scope.split()) if granted.scope else tuple(pending.row.scopes)
    command = domain.CompleteConnection(
        state_digest=token_digest(pending.state), now=now, tokens=digests, scopes=scopes,
        upstream_subject=subject,
    )  # fmt: skip
    try:
        _, after = await record(connector, pending.connection_id, command, metadata, tokens=tokens)
    except domain.ConnectionRefusal as refusal:
        raise refused(refusal) from None
    if after.lifecycle != "active":
        raise Refused("invalid_request", "the authorization took too long; start again")
    return pending.connection_id


def _issuer_problem(provider: ProviderRegistered, iss: str | None) -> str | None:
    return issuer_problem(provider.issuer, iss, promised=provider.iss_parameter_supported)
