"""What the account page shows a user of their own access, and what a report of access they
do not recognise does: the tokens concerned revoked at once, an incident on the record.

Sessions are the user's token families that still hold a working token; sign-ins come
from the audit trail (its per-user index), so both lag the log by the projector's delay.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Final

import msgspec

from schemas.envelope import Metadata
from schemas.events.incident import AccessReported, ReportedAccess
from services import revocation
from services.authority import Authority
from services.commands import append_to_new_stream, utcnow
from services.users import revoke_user_tokens

__all__ = ["Session", "SignInRow", "report", "sessions_of", "sign_ins_of"]

_SESSIONS: Final = 20
_SIGN_INS: Final = 20
# The longest a token family can stay alive (a refresh token's rolling 365 days).
_HORIZON: Final = timedelta(days=366)
_FAMILIES: Final = """
SELECT DISTINCT substr(stream_id, length('token_family-') + 1) AS family_id
FROM audit_trail
WHERE subject_user = $1 AND occurred_at > $2
  AND action IN ('access_token_issued', 'refresh_token_issued')
"""
# A family is a session while one of its tokens would introspect active (services.introspection).
_LIVE: Final = """
SELECT t.family_id, t.client_id, min(t.issued_at) AS since, max(t.expires_at) AS until
FROM token_state t JOIN clients c ON c.client_id = t.client_id
WHERE t.family_id = ANY($1::text[]) AND t.subject = $2 AND t.expires_at > $3
  AND t.revoked_at IS NULL AND t.spent_at IS NULL AND c.status = 'active'
  AND NOT EXISTS (
      SELECT 1 FROM token_revocations r
      WHERE r.revoked_before >= t.issued_at
        AND ((r.kind = 'client' AND r.key = t.client_id)
             OR (r.kind = 'user' AND r.key = t.subject)
             OR (r.kind = 'consent' AND r.key = t.subject || ' ' || t.client_id)
             OR (r.kind = 'signing_key' AND r.key = t.kid)
             OR (r.kind = 'workspace' AND r.key = t.workspace_id)))
GROUP BY t.family_id, t.client_id ORDER BY since DESC LIMIT $4
"""
_SIGN_INS_SQL: Final = """
SELECT event_id, occurred_at, action, reason, ip, user_agent, client_id FROM audit_trail
WHERE subject_user = $1 AND action IN ('login_succeeded', 'login_refused')
ORDER BY seq DESC LIMIT $2
"""
_SIGN_IN_OF: Final = """
SELECT 1 FROM audit_trail WHERE event_id = $1 AND subject_user = $2
  AND action IN ('login_succeeded', 'login_refused')
"""


class Session(msgspec.Struct, frozen=True, kw_only=True):
    family_id: str
    client_id: str
    since: datetime
    until: datetime


class SignInRow(msgspec.Struct, frozen=True, kw_only=True):
    event_id: str
    occurred_at: datetime
    succeeded: bool
    reason: str | None
    ip: str | None
    user_agent: str | None
    client_id: str | None


async def sessions_of(authority: Authority, user_id: str) -> list[Session]:
    now = utcnow()
    async with authority.pool.acquire() as conn:
        families = [r["family_id"] for r in await conn.fetch(_FAMILIES, user_id, now - _HORIZON)]
        rows = await conn.fetch(_LIVE, families, user_id, now, _SESSIONS) if families else []
    return [Session(**dict(row)) for row in rows]


async def sign_ins_of(authority: Authority, user_id: str) -> list[SignInRow]:
    async with authority.pool.acquire() as conn:
        rows = await conn.fetch(_SIGN_INS_SQL, user_id, _SIGN_INS)
    return [
        SignInRow(
            event_id=str(row["event_id"]),
            occurred_at=row["occurred_at"],
            succeeded=row["action"] == "login_succeeded",
            reason=row["reason"],
            ip=row["ip"],
            user_agent=row["user_agent"],
            client_id=row["client_id"],
        )
        for row in rows
    ]


async def _session_client(authority: Authority, user_id: str, family_id: str) -> str | None:
    async with authority.pool.acquire() as conn:
        found: str | None = await conn.fetchval(
            "SELECT client_id FROM token_state WHERE family_id = $1 AND subject = $2 LIMIT 1",
            family_id,
            user_id,
        )
    return found


async def _is_sign_in(authority: Authority, user_id: str, event_id: str) -> bool:
    try:
        parsed = uuid.UUID(event_id)
    except ValueError:
        return False
    async with authority.pool.acquire() as conn:
        return await conn.fetchval(_SIGN_IN_OF, parsed, user_id) is not None


async def report(
    authority: Authority, user_id: str, kind: ReportedAccess, reference: str, metadata: Metadata
) -> bool:
    """Revoke what the report concerns, then record the incident; False if it names nothing
    of this user's."""
    about = msgspec.structs.replace(metadata, subject_user=user_id, actor_id=user_id)
    client_id: str | None = None
    if kind == "session":
        client_id = await _session_client(authority, user_id, reference)
        if client_id is None:
            return False
        await revocation.revoke_by_id(authority, None, reference, about)
    else:
        if not await _is_sign_in(authority, user_id, reference):
            return False
        # Someone else may know the password: every token of the user, everywhere.
        await revoke_user_tokens(authority.store, user_id, "sign-in reported by the user", about)
    reported = AccessReported(user_id=user_id, kind=kind, reference=reference, client_id=client_id)
    await append_to_new_stream(authority.group, "incident", [reported], about)
    return True
