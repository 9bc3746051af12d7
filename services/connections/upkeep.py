"""What is done to one connection's upstream tokens: refresh, resolve an interrupted refresh,
check health, expire, disconnect. The scheduler calls the first four; owners the last.

A refresh is claimed (an event, committed) before its request leaves, and its answer is
stored with the tokens in one transaction (recorder.py). Between the two the outcome lives
only in this process; if it dies there, the claim stays open and `resolve_claim` settles it
without ever presenting a possibly spent one-time refresh token again (DECISIONS.md 23).
"""

from __future__ import annotations

import asyncio
import hmac
from datetime import timedelta
from typing import Final, Literal

import structlog

from domain import connection as domain
from infra.crypto.digests import token_digest
from infra.crypto.sealing import SealError
from infra.crypto.secret import Secret
from infra.upstream import oauth
from infra.upstream.http import InDoubt, Unsent
from projections import connection_queries
from projections.connection_queries import ConnectionRow
from schemas.envelope import Metadata
from schemas.events import ProviderRegistered
from schemas.events.connection import RefreshTrigger, RevocationCause
from services.commands import load, random_id, utcnow
from services.connections.connector import Connector
from services.connections.flow import granted_tokens
from services.connections.recorder import record, refused, stream_of
from services.refusals import Refused

__all__ = [
    "PausePoint",
    "check_health",
    "disconnect",
    "expire",
    "refresh",
    "resolve_claim",
]

PausePoint = Literal["after_claim", "after_answer"]
_BACKOFF_BASE_S: Final = 5.0
_BACKOFF_MAX_S: Final = 900.0

log = structlog.get_logger(__name__)


async def _provider(connector: Connector, provider_id: str) -> ProviderRegistered:
    async with connector.pool.acquire() as conn:
        found = await connection_queries.provider(conn, provider_id)
    if found is None:
        raise LookupError(f"connection names unknown provider {provider_id}")
    return found.registration


async def _pause(connector: Connector, point: PausePoint, connection_id: str) -> None:
    """Fault injection (KEYLEDGER_CONNECTIONS_PAUSE_AT): stop dead here, to be killed."""
    if connector.settings.connections_pause_at == point:
        log.warning("scheduler_paused", point=point, connection_id=connection_id)
        await asyncio.Event().wait()


def _backoff(row: ConnectionRow) -> timedelta:
    return timedelta(seconds=min(_BACKOFF_MAX_S, _BACKOFF_BASE_S * 2 ** min(row.failures, 10)))


async def refresh(
    connector: Connector, row: ConnectionRow, trigger: RefreshTrigger, metadata: Metadata
) -> None:
    connection_id, attempt_id = row.connection_id, random_id()
    provider = await _provider(connector, row.provider_id)
    try:
        await record(
            connector,
            connection_id,
            domain.ClaimRefresh(attempt_id=attempt_id, trigger=trigger),
            metadata,
        )
    except domain.ConnectionRefusal:
        return  # resolved, ended or claimed meanwhile: nothing to do now
    await _pause(connector, "after_claim", connection_id)
    held = await connector.vault.held(connection_id)
    if held.refresh is None:
        await _settle(connector, connection_id, attempt_id, None, metadata)
        return
    outcome = await oauth.refresh(
        connector.http, provider.token_endpoint, connector.credentials(provider), held.refresh
    )
    await _pause(connector, "after_answer", connection_id)
    now = utcnow()
    if isinstance(outcome, oauth.Granted):
        tokens, digests = granted_tokens(outcome, now)
        command = domain.RecordRefresh(attempt_id=attempt_id, tokens=digests)
        events, _ = await record(connector, connection_id, command, metadata, tokens=tokens)
        if not events:  # the connection ended while the request was out: give them back
            await _revoke_upstream(connector, provider, tokens.refresh, tokens.access)
        return
    in_doubt = isinstance(outcome, InDoubt) and provider.refresh_reuse == "one_time"
    if isinstance(outcome, oauth.Refused):
        error, description = outcome.error, outcome.description
    else:
        error = "unreachable" if isinstance(outcome, Unsent) else "no_answer"
        description = outcome.reason
    failure = domain.RecordRefreshFailure(
        attempt_id=attempt_id, error=error, description=description, in_doubt=in_doubt,
        retry_at=now + _backoff(row),
    )  # fmt: skip
    await record(connector, connection_id, failure, metadata)
    log.info("upstream_refresh_failed", connection_id=connection_id, error=error, in_doubt=in_doubt)


async def resolve_claim(connector: Connector, row: ConnectionRow, metadata: Metadata) -> None:
    """An open claim or an attempt in doubt: did its request spend the refresh token?

    A reusable token is never spent. A one-time token is asked about (RFC 7662): still active
    means the request never reached the provider, so it may be used; anything else means it
    may not. Without introspection nobody can tell, and the owner must connect again.
    """
    connection_id = row.connection_id
    state, _ = await load(connector.store, domain.decider, stream_of(connection_id))
    attempt = state.claim.attempt_id if state.claim else state.in_doubt
    if attempt is None:
        return
    provider = await _provider(connector, row.provider_id)
    spent: bool | None = None
    if provider.refresh_reuse == "reusable":
        spent = False
    elif provider.introspection_endpoint is not None:
        held = await connector.vault.held(connection_id)
        claimed = state.claim.refresh_token_digest if state.claim else None
        expected = claimed or (state.tokens.refresh_token_digest if state.tokens else None)
        # The vault must hold the token the claim names: the log vouches for what is asked.
        presented = token_digest(held.refresh.reveal()) if held.refresh is not None else ""
        if held.refresh is not None and hmac.compare_digest(presented, expected or "-"):
            health = await oauth.introspect(
                connector.http, provider.introspection_endpoint,
                connector.credentials(provider), held.refresh, hint="refresh_token",
            )  # fmt: skip
            if health == "unavailable":
                return  # ask again at the next tick
            spent = health == "inactive"
    await _settle(connector, connection_id, attempt, spent, metadata)


async def _settle(
    connector: Connector, connection_id: str, attempt_id: str, spent: bool | None,
    metadata: Metadata,
) -> None:  # fmt: skip
    command = domain.ResolveOpenClaim(attempt_id=attempt_id, token_spent=spent)
    events, state = await record(connector, connection_id, command, metadata)
    if events:
        log.info(
            "upstream_refresh_claim_resolved", connection_id=connection_id,
            spent=spent, lifecycle=state.lifecycle,
        )  # fmt: skip


async def check_health(connector: Connector, row: ConnectionRow, metadata: Metadata) -> None:
    """Ask the provider whether the access token still works (RFC 7662, or OIDC UserInfo); a
    dead one with a refresh token behind it is refreshed at once, which settles the matter."""
    provider = await _provider(connector, row.provider_id)
    held = await connector.vault.held(row.connection_id)
    if held.access is None:
        return
    credentials = connector.credentials(provider)
    method: Literal["introspection", "userinfo"]
    if provider.introspection_endpoint is not None:
        method = "introspection"
        result = await oauth.introspect(
            connector.http, provider.introspection_endpoint, credentials, held.access,
            hint="access_token",
        )  # fmt: skip
    elif provider.userinfo_endpoint is not None:
        method = "userinfo"
        result = await oauth.check_userinfo(connector.http, provider.userinfo_endpoint, held.access)
    else:
        return
    command = domain.RecordHealthCheck(method=method, result=result)
    try:
        _, state = await record(connector, row.connection_id, command, metadata)
    except domain.ConnectionRefusal:
        return
    if state.lifecycle == "active" and state.refresh_requested:
        await refresh(connector, row, "health_check", metadata)


async def expire(connector: Connector, row: ConnectionRow, metadata: Metadata) -> None:
    try:
        await record(connector, row.connection_id, domain.ExpireConnection(now=utcnow()), metadata)
    except domain.ConnectionRefusal:
        return


async def _revoke_upstream(
    connector: Connector,
    provider: ProviderRegistered,
    refresh: Secret | None,
    access: Secret | None,
) -> bool:
    """RFC 7009, refresh token first (it takes its access tokens along at most providers)."""
    endpoint = provider.revocation_endpoint
    if endpoint is None:
        return False
    credentials, revoked = connector.credentials(provider), True
    if refresh is not None:
        revoked &= await oauth.revoke(
            connector.http, endpoint, credentials, refresh, hint="refresh_token"
        )
    if access is not None:
        revoked &= await oauth.revoke(
            connector.http, endpoint, credentials, access, hint="access_token"
        )
    return revoked


async def disconnect(
    connector: Connector, connection_id: str, *, cause: RevocationCause, reason: str,
    metadata: Metadata,
) -> None:  # fmt: skip
    """End the connection: the provider is asked to revoke the tokens, then they are erased."""
    async with connector.pool.acquire() as conn:
        row = await connection_queries.connection(conn, connection_id)
    if row is None:
        raise Refused("not_found", "there is no such connection")
    provider = await _provider(connector, row.provider_id)
    try:
        held = await connector.vault.held(connection_id)
    except SealError:
        held = None
    upstream = False
    if held is not None and (held.refresh or held.access):
        upstream = await _revoke_upstream(connector, provider, held.refresh, held.access)
    command = domain.RevokeConnection(cause=cause, reason=reason, upstream_revoked=upstream)
    try:
        await record(connector, connection_id, command, metadata)
    except domain.ConnectionRefusal as refusal:
        raise refused(refusal) from None
