"""Revocation: RFC 7009 and `DELETE /oauth/token/{id}`, and incident revocations.

https://www.rfc-editor.org/rfc/rfc7009
A token or family revocation is an event on the family's stream; a workspace-wide one is an
event on the workspace's stream. Each becomes a revocation for resource servers
(domain/revocation.py) and, for predicates, a row in the inline token state.
"""

from __future__ import annotations

from collections.abc import Sequence

from domain import token_family as family_domain
from domain import workspace as workspace_domain
from infra.crypto.digests import token_digest
from infra.postgres.event_store import ConcurrencyError
from schemas.envelope import Metadata
from schemas.events import Event, Jti
from services.authority import Authority
from services.clients import ClientRecord
from services.commands import ATTEMPTS, execute, load, new_events, utcnow
from services.tokens import about, family_stream

__all__ = ["revoke_by_id", "revoke_token", "revoke_workspace_tokens"]


async def revoke_token(
    authority: Authority, client: ClientRecord | None, token: str, metadata: Metadata
) -> None:
    """RFC 7009: revoke an access token, or a refresh token and its whole family.

    Unknown tokens and tokens of other clients change nothing (section 2.2: still 200).
    `client` None means an administrator.
    """
    async with authority.pool.acquire() as conn:
        row = await conn.fetchrow(
            "SELECT kind, jti, family_id, client_id FROM token_state WHERE token_digest = $1",
            token_digest(token),
        )
    if row is None or (client is not None and row["client_id"] != client.client_id):
        return
    await _revoke(
        authority, row["family_id"], row["jti"] if row["kind"] == "access" else None, metadata
    )


async def revoke_by_id(
    authority: Authority, client: ClientRecord | None, token_id: str, metadata: Metadata
) -> bool:
    """`DELETE /oauth/token/{id}`: a token's `jti`, or a family id (the refresh chain)."""
    async with authority.pool.acquire() as conn:
        row = await conn.fetchrow(
            "SELECT jti, family_id, client_id FROM token_state WHERE jti = $1"
            " UNION ALL (SELECT NULL, family_id, client_id FROM token_state WHERE family_id = $1"
            " LIMIT 1) LIMIT 1",
            token_id,
        )
    if row is None or (client is not None and row["client_id"] != client.client_id):
        return False
    await _revoke(authority, row["family_id"], row["jti"], metadata)
    return True


async def _revoke(
    authority: Authority, family_id: str, jti: str | None, metadata: Metadata
) -> None:
    command: family_domain.TokenFamilyCommand = (
        family_domain.RevokeFamily(reason="revoked")
        if jti is None
        else family_domain.RevokeAccessToken(jti=Jti(jti))
    )
    for _ in range(ATTEMPTS):
        state, head = await load(authority.store, family_domain.decider, family_stream(family_id))
        events: Sequence[Event] = family_domain.decide(command, state)
        if not events:
            return
        about_user = about(metadata, family_domain.subject_of(state))
        try:
            await authority.store.append(
                family_stream(family_id), head, new_events(events, about_user, utcnow())
            )
        except ConcurrencyError:
            continue
        return


async def revoke_workspace_tokens(
    authority: Authority, workspace_id: str, reason: str, metadata: Metadata
) -> None:
    """Every token issued so far to the workspace's clients stops working (an incident)."""
    command = workspace_domain.RevokeWorkspaceTokens(workspace_id=workspace_id, reason=reason)
    await execute(
        authority.store, workspace_domain.decider, f"workspace-{workspace_id}", command, metadata
    )
