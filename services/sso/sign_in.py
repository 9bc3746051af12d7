"""Signing in through a workspace's identity provider (OpenID Connect Core 3.1).

https://www.rfc-editor.org/rfc/rfc9700#section-2.1  Authorization code with PKCE S256, a
random `state` kept in the browser's own signed cookie (a callback from any other browser
is refused), and a `nonce`. The PKCE verifier and the nonce are HMACs of the state under a
key of keyledger's, so nothing secret is stored and a stolen callback cannot be redeemed
elsewhere. Then `iss` (RFC 9207), the ID token against the provider's JWKS (signature, iss,
aud, exp, nonce), UserInfo for the same `sub`, and the decision of domain/sso.py. Every
outcome is a `login_succeeded` or `login_refused` event with method `sso`.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import uuid
from dataclasses import dataclass
from typing import Final
from urllib.parse import urlencode, urlsplit

import asyncpg
import msgspec

from domain import sso as domain
from domain import user as user_domain
from domain.policies.pkce import challenge_s256
from infra.crypto.secret import Secret
from infra.postgres.batching import GroupCommit
from infra.upstream import oauth
from infra.upstream.http import InDoubt, Unsent
from infra.upstream.id_token import IdTokenError, fetch_keys, verified_claims
from infra.upstream.issuer import issuer_problem
from projections import sso_queries
from schemas.envelope import Metadata
from schemas.events import LoginRefused, SsoConfigured, SsoUserProvisioned
from schemas.events.login import LoginEvent, RefusalReason
from services.commands import append_to_new_stream, execute, utcnow
from services.connections.connector import Connector
from services.connections.flow import Callback
from services.sso.config import CALLBACK_PATH, secret_context

__all__ = ["Outcome", "authorization_url", "complete", "new_state"]

_STATE_BYTES: Final = 32
_MAX_PARAM: Final = 4096


@dataclass(frozen=True, slots=True)
class Outcome:
    """The user signed in, or why not (a `login_refused` reason, recorded)."""

    user_id: str | None
    reason: RefusalReason | None = None


def new_state() -> str:
    return secrets.token_urlsafe(_STATE_BYTES)


def _derived(connector: Connector, purpose: str, state: str) -> str:
    message = f"sso-{purpose}:{state}".encode()
    mac = hmac.new(connector.flow_key, message, hashlib.sha256).digest()
    return base64.urlsafe_b64encode(mac).rstrip(b"=").decode("ascii")


def authorization_url(
    connector: Connector, configured: SsoConfigured, state: str, login_hint: str | None
) -> str:
    """Where to send the browser: the provider's authorization endpoint (RFC 6749 4.1.1)."""
    params = {
        "response_type": "code",
        "client_id": configured.client_id,
        "redirect_uri": connector.settings.issuer_url + CALLBACK_PATH,
        "scope": " ".join(configured.scopes),
        "state": state,
        "nonce": _derived(connector, "nonce", state),
        "code_challenge": challenge_s256(_derived(connector, "pkce", state)),
        "code_challenge_method": "S256",
    }
    if login_hint and len(login_hint) <= 255:
        params["login_hint"] = login_hint  # OIDC Core 3.1.2.1: the provider may prefill it
    endpoint = configured.authorization_endpoint
    return endpoint + ("&" if urlsplit(endpoint).query else "?") + urlencode(params)


class _Refusal(Exception):
    def __init__(self, reason: RefusalReason, user_id: str | None = None) -> None:
        super().__init__(reason)
        self.reason: RefusalReason = reason
        self.user_id = user_id


async def _claims(
    connector: Connector, configured: SsoConfigured, callback: Callback, state: str
) -> dict[str, object]:
    """The verified claims of the person the provider signed in."""
    problem = issuer_problem(
        configured.issuer, callback.iss, promised=configured.iss_parameter_supported
    )
    if problem is not None:
        raise _Refusal("sso_issuer_mismatch")
    if callback.error is not None or not callback.code or len(callback.code) > _MAX_PARAM:
        raise _Refusal("sso_upstream_error")
    client = oauth.ClientCredentials(configured.client_id, None, configured.client_auth)
    if configured.sealed_client_secret is not None:
        opened = connector.master.open(
            configured.sealed_client_secret, context=secret_context(configured.workspace_id)
        )
        client = oauth.ClientCredentials(
            configured.client_id, Secret(opened.decode("utf-8")), configured.client_auth
        )
    outcome = await oauth.redeem_code(
        connector.http, configured.token_endpoint, client, code=callback.code,
        redirect_uri=connector.settings.issuer_url + CALLBACK_PATH,
        code_verifier=_derived(connector, "pkce", state),
    )  # fmt: skip
    if isinstance(outcome, Unsent | InDoubt | oauth.Refused):
        raise _Refusal("sso_upstream_error")
    if outcome.id_token is None:
        raise _Refusal("sso_id_token_invalid")
    try:
        keys = await fetch_keys(connector.http, configured.jwks_uri)
        claims = verified_claims(
            outcome.id_token, issuer=configured.issuer, client_id=configured.client_id,
            nonce=_derived(connector, "nonce", state), now=utcnow(), keys=keys,
        )  # fmt: skip
    except IdTokenError:
        raise _Refusal("sso_id_token_invalid") from None
    if configured.userinfo_endpoint is None:
        return claims
    extra = await oauth.fetch_userinfo(
        connector.http, configured.userinfo_endpoint, outcome.access_token
    )
    if extra is None:
        raise _Refusal("sso_upstream_error")
    if extra.get("sub") != claims["sub"]:  # OIDC Core 5.3.2: else a token substitution
        raise _Refusal("sso_id_token_invalid")
    # The ID token's own claims (iss, aud, nonce...) are never overridden.
    return {**extra, **claims}


def _account(row: asyncpg.Record | None) -> domain.Account | None:
    if row is None:
        return None
    return domain.Account(
        user_id=row["user_id"], disabled=row["disabled"], service_account=row["service_account"]
    )


async def _decide(
    connector: Connector,
    configured: SsoConfigured,
    identity: domain.Identity,
    client_id: str | None,
) -> domain.SignInDecision:
    async with connector.pool.acquire() as conn:
        linked = await sso_queries.linked_account(conn, configured.issuer, identity.subject)
        by_email = None
        if identity.email is not None and "\x00" not in identity.email:
            by_email = await sso_queries.account_by_username(conn, identity.email)
    return domain.decide_sign_in(
        domain.SsoSignIn(
            configured=configured, identity=identity, linked=_account(linked),
            by_email=_account(by_email), new_user_id=uuid.uuid4().hex, client_id=client_id,
        )
    )  # fmt: skip


async def _apply(connector: Connector, decision: domain.SignInDecision, metadata: Metadata) -> None:
    for event in decision.account_events:
        command: user_domain.UserCommand = (
            user_domain.ProvisionSsoUser(provisioned=event)
            if isinstance(event, SsoUserProvisioned)
            else user_domain.LinkSsoIdentity(linked=event)
        )
        meta = _login_metadata(metadata, event.user_id, event.workspace_id)
        stream = f"user-{event.user_id}"
        await execute(connector.store, user_domain.decider, stream, command, meta)


async def _signed_in(
    connector: Connector, configured: SsoConfigured, claims: dict[str, object],
    client_id: str | None, metadata: Metadata,
) -> domain.SignInDecision:  # fmt: skip
    identity = domain.identity_of(claims, configured)
    if identity is None:
        raise _Refusal("sso_id_token_invalid")
    for attempt in range(2):
        decision = await _decide(connector, configured, identity, client_id)
        try:
            await _apply(connector, decision, metadata)
        except asyncpg.UniqueViolationError:
            # A first sign-in of the same person (or username) won a race: decide again.
            if attempt:
                raise
            continue
        return decision
    raise AssertionError("unreachable")


def _login_metadata(metadata: Metadata, user_id: str | None, workspace_id: str | None) -> Metadata:
    return msgspec.structs.replace(
        metadata, actor="user" if user_id else metadata.actor, actor_id=user_id,
        subject_user=user_id, workspace_id=workspace_id,
    )  # fmt: skip


async def complete(
    connector: Connector, group: GroupCommit, *, expected: tuple[str, str, str] | None,
    callback: Callback, client_id: str | None, metadata: Metadata,
) -> Outcome:  # fmt: skip
    """The provider's redirect back. `expected` is (state, workspace id, issuer) from this
    browser's flow cookie, None without one. Every outcome is recorded."""
    workspace_id = expected[1] if expected else None
    user_id: str | None = None
    login: LoginEvent
    try:
        state = callback.state or ""
        presented = state.encode("utf-8", "replace")
        if expected is None or not hmac.compare_digest(presented, expected[0].encode()):
            raise _Refusal("sso_state_mismatch")
        async with connector.pool.acquire() as conn:
            found = await sso_queries.configured(conn, workspace_id=expected[1])
        if found is None or found.configuration.issuer != expected[2]:
            raise _Refusal("sso_not_configured")
        claims = await _claims(connector, found.configuration, callback, state)
        decision = await _signed_in(connector, found.configuration, claims, client_id, metadata)
        login, user_id = decision.login, decision.user_id
    except _Refusal as refusal:
        login = LoginRefused(
            user_id=refusal.user_id, method="sso", reason=refusal.reason, client_id=client_id
        )
    subject = user_id or (login.user_id if isinstance(login, LoginRefused) else None)
    meta = _login_metadata(metadata, subject, workspace_id)
    await append_to_new_stream(group, "login", [login], meta)
    reason = login.reason if isinstance(login, LoginRefused) else None
    return Outcome(user_id=user_id, reason=reason)
