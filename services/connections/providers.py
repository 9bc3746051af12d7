"""Registering the providers accounts are connected from; shared by the HTTP API and the CLI.

An operator registers providers every user may connect through; a workspace's Owner or Admin
registers the workspace's own. With an issuer, the endpoints come from its metadata, fetched
once here: what is registered is what every later request goes to.
"""

from __future__ import annotations

import asyncpg
import msgspec

from domain import provider as domain
from domain import workspace as workspace_domain
from infra.upstream.discovery import DiscoveryError, ProviderMetadata, discover
from projections import connection_queries
from projections.providers import UNIQUE_NAME
from schemas.envelope import Metadata
from schemas.events import ProviderRegistered
from schemas.events.workspace import Role
from schemas.http.connections import ProviderRequest, ProviderView
from services.commands import execute, load, random_id
from services.connections.connector import Connector
from services.refusals import Reason, Refused
from services.workspaces import stream_of as workspace_stream

__all__ = ["provider_view", "providers_of", "register_provider", "remove_provider", "stream_of"]

_REASONS: dict[domain.RefusalCode, Reason] = {
    "not_found": "not_found",
    "conflict": "conflict",
    "invalid": "invalid_request",
}


def stream_of(provider_id: str) -> str:
    return f"provider-{provider_id}"


async def require_workspace_role(
    connector: Connector, workspace_id: str, user_id: str, least: Role
) -> None:
    state, _ = await load(connector.store, workspace_domain.decider, workspace_stream(workspace_id))
    try:
        workspace_domain.require_role(state, user_id, least)
    except workspace_domain.WorkspaceRefusal as refusal:
        reason: Reason = "access_denied" if refusal.code == "forbidden" else "not_found"
        raise Refused(reason, refusal.description) from None


async def _metadata_of(connector: Connector, request: ProviderRequest) -> ProviderMetadata | None:
    if request.issuer is None:
        return None
    try:
        return await discover(connector.http, request.issuer)
    except DiscoveryError as error:
        raise Refused("invalid_request", f"discovery failed: {error}") from None


async def register_provider(
    connector: Connector,
    request: ProviderRequest,
    metadata: Metadata,
    *,
    workspace_id: str | None = None,
    acting_user: str | None = None,
) -> ProviderView:
    """Register; for a workspace, `acting_user` must be its Owner or an Admin."""
    if workspace_id is not None:
        assert acting_user is not None
        await require_workspace_role(connector, workspace_id, acting_user, "admin")
    found = await _metadata_of(connector, request)
    discovered: dict[str, object] = msgspec.structs.asdict(found) if found else {}

    def pick(field: str) -> str | None:
        """The endpoint given in the request, else the discovered one."""
        value = getattr(request, field) or discovered.get(field)
        return value if isinstance(value, str) else None

    authorization, token = pick("authorization_endpoint"), pick("token_endpoint")
    if not authorization or not token:
        raise Refused(
            "invalid_request", "give an issuer to discover, or authorization and token endpoints"
        )
    provider_id = random_id()
    sealed = None
    if request.client_secret is not None:
        if not 1 <= len(request.client_secret) <= 1024:
            raise Refused("invalid_request", "client_secret: 1 to 1024 characters")
        sealed = connector.master.seal(
            request.client_secret.encode("utf-8"), context=f"provider_secret:{provider_id}"
        )
    registration = ProviderRegistered(
        provider_id=provider_id, name=request.name, workspace_id=workspace_id,
        issuer=request.issuer, authorization_endpoint=authorization, token_endpoint=token,
        revocation_endpoint=pick("revocation_endpoint"),
        introspection_endpoint=pick("introspection_endpoint"),
        userinfo_endpoint=pick("userinfo_endpoint"), jwks_uri=pick("jwks_uri"),
        client_id=request.client_id, sealed_client_secret=sealed,
        client_auth=request.client_auth, scopes=tuple(dict.fromkeys(request.scopes)),
        refresh_margin_s=request.refresh_margin_s, max_token_age_s=request.max_token_age_s,
        health_check_interval_s=request.health_check_interval_s,
        refresh_reuse=request.refresh_reuse,
        iss_parameter_supported=discovered.get("authorization_response_iss_parameter_supported")
        is True,
    )  # fmt: skip
    command = domain.RegisterProvider(registration=registration)
    metadata = msgspec.structs.replace(metadata, workspace_id=workspace_id or metadata.workspace_id)
    try:
        await execute(connector.store, domain.decider, stream_of(provider_id), command, metadata)
    except domain.ProviderRefusal as refusal:
        raise Refused(_REASONS[refusal.code], refusal.description) from None
    except asyncpg.UniqueViolationError as error:
        if error.constraint_name != UNIQUE_NAME:
            raise
        raise Refused("conflict", f"a provider named {request.name!r} exists already") from None
    async with connector.pool.acquire() as conn:
        stored = await connection_queries.provider(conn, provider_id)
    assert stored is not None  # inline: read-your-writes
    return provider_view(stored)


async def remove_provider(
    connector: Connector,
    provider_id: str,
    metadata: Metadata,
    *,
    workspace_id: str | None = None,
    acting_user: str | None = None,
    reason: str = "",
) -> None:
    """No new connection through it; the connections made stay as they are."""
    async with connector.pool.acquire() as conn:
        found = await connection_queries.provider(conn, provider_id)
    if found is None or found.registration.workspace_id != workspace_id:
        raise Refused("not_found", "there is no such provider here")
    if workspace_id is not None:
        assert acting_user is not None
        await require_workspace_role(connector, workspace_id, acting_user, "admin")
    command = domain.RemoveProvider(reason=reason)
    try:
        await execute(connector.store, domain.decider, stream_of(provider_id), command, metadata)
    except domain.ProviderRefusal as refusal:
        raise Refused(_REASONS[refusal.code], refusal.description) from None


async def providers_of(connector: Connector, workspace_id: str | None) -> list[ProviderView]:
    async with connector.pool.acquire() as conn:
        found = await connection_queries.providers(conn, workspace_id)
    return [provider_view(p) for p in found]


def provider_view(provider: connection_queries.Provider) -> ProviderView:
    r = provider.registration
    return ProviderView(
        provider_id=r.provider_id, name=r.name, workspace_id=r.workspace_id, issuer=r.issuer,
        authorization_endpoint=r.authorization_endpoint, token_endpoint=r.token_endpoint,
        revocation_endpoint=r.revocation_endpoint,
        introspection_endpoint=r.introspection_endpoint, userinfo_endpoint=r.userinfo_endpoint,
        jwks_uri=r.jwks_uri, client_id=r.client_id,
        has_client_secret=r.sealed_client_secret is not None, client_auth=r.client_auth,
        scopes=r.scopes, refresh_margin_s=r.refresh_margin_s, max_token_age_s=r.max_token_age_s,
        health_check_interval_s=r.health_check_interval_s, refresh_reuse=r.refresh_reuse,
        iss_parameter_supported=r.iss_parameter_supported,
        registered_at=provider.registered_at, removed_at=provider.removed_at,
    )  # fmt: skip
