"""Security-relevant refusals at the OAuth endpoints become events (DECISIONS 13).

A wrong client secret, an invalid code, a PKCE mismatch or a dead refresh token is what an
investigator looks for after an incident, so each is appended, group-committed, before the
error is answered; so is a client asking for more scope than it may hold (`invalid_scope`).
Malformed requests are not: they say nothing about an account. Failed client
authentications past their rate limit are counted into one event instead (DECISIONS 20).
"""

from __future__ import annotations

from typing import Final

import msgspec

from schemas.envelope import Metadata
from schemas.events import TokenRequestRefused
from schemas.events.refusal import OAuthEndpoint
from services.authority import Authority
from services.commands import append_to_new_stream
from services.refusals import Reason, Refused

__all__ = ["AUDITED_REFUSALS", "record_refusal"]

AUDITED_REFUSALS: Final[frozenset[Reason]] = frozenset(
    {
        "invalid_client",
        "invalid_grant",
        "invalid_code",
        "pkce_mismatch",
        "unauthorized_client",
        "invalid_scope",
    }
)
# A claimed client id is caller input: keep enough to search by, never an unbounded string.
_CLAIM_MAX: Final = 128


async def record_refusal(
    authority: Authority,
    refused: Refused,
    metadata: Metadata,
    *,
    endpoint: OAuthEndpoint,
    client_id: str | None,
    grant_type: str | None = None,
) -> None:
    """Append the refusal if it is one investigators need; the caller re-raises it."""
    if refused.reason not in AUDITED_REFUSALS:
        return
    claimed = client_id[:_CLAIM_MAX] if client_id else None
    event = TokenRequestRefused(
        endpoint=endpoint,
        error=refused.reason,
        grant_type=grant_type,
        client_id=claimed,
        subject=refused.subject,
    )
    metadata = msgspec.structs.replace(
        metadata, client_id=claimed, actor_id=claimed, subject_user=refused.subject
    )
    await append_to_new_stream(authority.group, "refusal", [event], metadata)
