"""Consents: what a user has allowed a client, and withdrawing it (an event each)."""

from __future__ import annotations

import msgspec

from domain import consent as consent_domain
from schemas.envelope import Metadata
from services.authority import Authority
from services.commands import execute, load

__all__ = ["consent_stream", "consented", "withdraw_consent"]


def consent_stream(user_id: str, client_id: str) -> str:
    return f"consent-{user_id}.{client_id}"


async def withdraw_consent(
    authority: Authority, user_id: str, client_id: str, metadata: Metadata
) -> bool:
    """Withdraw a consent; False if there was none. The inline token state makes every token
    of this user for this client inactive in the same commit."""
    command = consent_domain.WithdrawConsent(user_id=user_id, client_id=client_id)
    workspace_id = metadata.workspace_id
    if workspace_id is None:  # the audit row carries the client's workspace, whoever acts
        client = await authority.clients.cached(client_id)
        workspace_id = client.registration.workspace_id if client else None
    metadata = msgspec.structs.replace(
        metadata, subject_user=user_id, client_id=client_id, workspace_id=workspace_id
    )
    stream = consent_stream(user_id, client_id)
    withdrawn = await execute(authority.store, consent_domain.decider, stream, command, metadata)
    return bool(withdrawn)


async def consented(authority: Authority, user_id: str, client_id: str) -> tuple[str, ...]:
    """The scopes this user has already allowed this client (empty after a withdrawal)."""
    state, _ = await load(
        authority.store, consent_domain.decider, consent_stream(user_id, client_id)
    )
    return state
