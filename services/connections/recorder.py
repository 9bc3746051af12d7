"""A connection command becomes events, with the upstream tokens they name in one transaction.

The events carry the tokens' digests; the tokens go encrypted into the vault in the same
transaction, so the log and the vault can never disagree, whatever crashes. A connection that
ends (revoked, expired, failed, needing re-authentication) has its tokens erased with it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import msgspec

from domain import connection as domain
from infra.crypto.secret import Secret
from infra.postgres.event_store import ConcurrencyError, StreamAppend
from schemas.envelope import Metadata
from schemas.events import ConnectionEstablished, UpstreamTokenRefreshed
from schemas.events.connection import ConnectionEvent
from services.commands import ATTEMPTS, load, new_events, utcnow
from services.connections.connector import Connector
from services.refusals import Reason, Refused

__all__ = ["NewTokens", "record", "refused", "stream_of"]

_REASONS: dict[domain.RefusalCode, Reason] = {
    "not_found": "not_found",
    "conflict": "conflict",
    "invalid": "invalid_request",
}


@dataclass(frozen=True, slots=True)
class NewTokens:
    """Tokens a provider just handed over, to be stored with the event that names them."""

    access: Secret
    refresh: Secret | None


def stream_of(connection_id: str) -> str:
    return f"connection-{connection_id}"


def refused(refusal: domain.ConnectionRefusal) -> Refused:
    return Refused(_REASONS[refusal.code], refusal.description)


def _about(metadata: Metadata, state: domain.ConnectionState) -> Metadata:
    """Every event of a connection names its owner and workspace: the audit trail's keys."""
    started = state.started
    if started is None:
        return metadata
    return msgspec.structs.replace(
        metadata,
        subject_user=metadata.subject_user or started.user_id,
        workspace_id=started.workspace_id or metadata.workspace_id,
    )


async def record(
    connector: Connector,
    connection_id: str,
    command: domain.ConnectionCommand,
    metadata: Metadata,
    *,
    tokens: NewTokens | None = None,
) -> tuple[Sequence[ConnectionEvent], domain.ConnectionState]:
    """Decide against the stream and append; returns the events and the state after them.
    Raises `ConnectionRefusal` for a command the connection's state refuses."""
    stream = stream_of(connection_id)
    for _ in range(ATTEMPTS):
        state, head = await load(connector.store, domain.decider, stream)
        events = domain.decider.decide(command, state)
        if not events:
            return events, state
        after = state
        for event in events:
            after = domain.decider.evolve(after, event)
        now = utcnow()
        appended = new_events(events, _about(metadata, after), now)
        try:
            async with connector.pool.acquire() as conn, conn.transaction():
                await connector.store.append_all([StreamAppend(stream, head, appended)], conn=conn)
                if any(
                    isinstance(e, ConnectionEstablished | UpstreamTokenRefreshed) for e in events
                ):
                    assert tokens is not None, "new tokens are stored with the event naming them"
                    await connector.vault.store(
                        conn, connection_id, access=tokens.access, refresh=tokens.refresh, now=now
                    )
                elif after.lifecycle not in ("active", "pending"):
                    await connector.vault.erase(conn, connection_id)
        except ConcurrencyError:
            continue
        connector.store.committed(urgent=False)
        return events, after
    raise ConcurrencyError([stream])
