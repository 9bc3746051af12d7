"""Configuring a workspace's single sign-on; shared by the HTTP API and the CLI.

A workspace's Owner or an Admin configures it. The provider's endpoints come from its
discovery document, fetched once here, and must include a JWKS: every ID token is checked
against it. The client secret is sealed under the master key before it reaches the log.
"""

from __future__ import annotations

from typing import Final

import asyncpg
import msgspec

from domain import sso as domain
from infra.upstream.discovery import DiscoveryError, discover
from projections import sso_queries
from projections.sso import UNIQUE_DOMAIN
from schemas.envelope import Metadata
from schemas.events import ClaimMapping, Sealed, SsoConfigured
from schemas.http.sso import SsoRequest, SsoView
from services.commands import execute
from services.connections.connector import Connector
from services.connections.providers import require_workspace_role
from services.refusals import Reason, Refused

__all__ = ["CALLBACK_PATH", "configure", "disable", "secret_context", "show", "stream_of"]

# Under /oauth, where the pages' cookies live: the callback reads the flow's cookie.
CALLBACK_PATH: Final = "/oauth/sso/callback"
_REASONS: Final[dict[domain.RefusalCode, Reason]] = {
    "not_found": "not_found",
    "invalid": "invalid_request",
}
_CLAIM_KEYS: Final = frozenset(msgspec.structs.asdict(ClaimMapping()))


def stream_of(workspace_id: str) -> str:
    return f"sso-{workspace_id}"


def secret_context(workspace_id: str) -> str:
    return f"sso_secret:{workspace_id}"


def _metadata(metadata: Metadata, workspace_id: str) -> Metadata:
    return msgspec.structs.replace(metadata, workspace_id=workspace_id)


async def _current(connector: Connector, workspace_id: str) -> sso_queries.Configured | None:
    async with connector.pool.acquire() as conn:
        return await sso_queries.configured(conn, workspace_id=workspace_id)


def _sealed_secret(
    connector: Connector, workspace_id: str, request: SsoRequest, current: SsoConfigured | None
) -> Sealed | None:
    if request.client_secret is None:
        # Kept across a change of anything else; a new client needs its own secret.
        same_client = current is not None and current.client_id == request.client_id
        return current.sealed_client_secret if same_client and current else None
    if not 1 <= len(request.client_secret) <= 1024:
        raise Refused("invalid_request", "client_secret: 1 to 1024 characters")
    return connector.master.seal(
        request.client_secret.encode("utf-8"), context=secret_context(workspace_id)
    )


def _claims(request: SsoRequest) -> ClaimMapping:
    unknown = sorted(set(request.claims) - _CLAIM_KEYS)
    if unknown:
        raise Refused(
            "invalid_request", f"claims: {unknown[0]!r} is not one of {sorted(_CLAIM_KEYS)}"
        )
    return ClaimMapping(**request.claims)


async def configure(
    connector: Connector, workspace_id: str, acting_user: str, request: SsoRequest,
    metadata: Metadata,
) -> SsoView:  # fmt: skip
    """Configure (or replace) the workspace's provider; `acting_user` is its Owner or Admin."""
    await require_workspace_role(connector, workspace_id, acting_user, "admin")
    claims = _claims(request)
    try:
        found = await discover(connector.http, request.issuer)
    except DiscoveryError as error:
        raise Refused("invalid_request", f"discovery failed: {error}") from None
    if found.jwks_uri is None:
        raise Refused("invalid_request", "the provider publishes no JWKS to check ID tokens with")
    current = await _current(connector, workspace_id)
    configured = SsoConfigured(
        workspace_id=workspace_id, issuer=found.issuer,
        authorization_endpoint=found.authorization_endpoint, token_endpoint=found.token_endpoint,
        jwks_uri=found.jwks_uri, userinfo_endpoint=found.userinfo_endpoint,
        client_id=request.client_id,
        sealed_client_secret=_sealed_secret(
            connector, workspace_id, request, current.configuration if current else None
        ),
        client_auth=request.client_auth, scopes=tuple(dict.fromkeys(request.scopes)),
        allowed_domains=tuple(sorted({d.lower() for d in request.allowed_domains})),
        claims=claims, trust_email=request.trust_email, required=request.required,
        iss_parameter_supported=found.authorization_response_iss_parameter_supported,
    )  # fmt: skip
    command = domain.ConfigureSso(configured=configured)
    try:
        await execute(
            connector.store, domain.decider, stream_of(workspace_id), command,
            _metadata(metadata, workspace_id),
        )  # fmt: skip
    except domain.SsoRefusal as refusal:
        raise Refused(_REASONS[refusal.code], refusal.description) from None
    except asyncpg.UniqueViolationError as error:
        if error.constraint_name != UNIQUE_DOMAIN:
            raise
        raise Refused("conflict", "a domain is another workspace's already") from None
    return await show(connector, workspace_id)


async def disable(
    connector: Connector, workspace_id: str, acting_user: str, reason: str, metadata: Metadata
) -> None:
    await require_workspace_role(connector, workspace_id, acting_user, "admin")
    command = domain.DisableSso(reason=reason[:200])
    try:
        await execute(
            connector.store, domain.decider, stream_of(workspace_id), command,
            _metadata(metadata, workspace_id),
        )  # fmt: skip
    except domain.SsoRefusal as refusal:
        raise Refused(_REASONS[refusal.code], refusal.description) from None


async def show(connector: Connector, workspace_id: str) -> SsoView:
    found = await _current(connector, workspace_id)
    if found is None:
        raise Refused("not_found", "the workspace has no single sign-on configured")
    c = found.configuration
    return SsoView(
        workspace_id=c.workspace_id, issuer=c.issuer,
        authorization_endpoint=c.authorization_endpoint, token_endpoint=c.token_endpoint,
        jwks_uri=c.jwks_uri, userinfo_endpoint=c.userinfo_endpoint, client_id=c.client_id,
        has_client_secret=c.sealed_client_secret is not None, client_auth=c.client_auth,
        scopes=c.scopes, allowed_domains=c.allowed_domains,
        claims=msgspec.structs.asdict(c.claims), trust_email=c.trust_email,
        required=c.required, iss_parameter_supported=c.iss_parameter_supported,
        redirect_uri=connector.settings.issuer_url + CALLBACK_PATH,
        configured_at=found.configured_at,
    )  # fmt: skip
