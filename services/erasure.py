"""Erasing a person (the right to be forgotten) without touching the log or its chain.

One transaction destroys the person's data key (`subject_keys`), appends `user_disabled`
(every token stops) and `user_erased` to their stream, redacts their account row and SSO
links (inline projections) and their audit trail's addresses and user agents. The log's
sealed values of theirs read as redacted from then on; every hash still verifies, because no
stored byte changes (DECISIONS.md 31).
"""

from __future__ import annotations

import contextlib
from typing import Final

import asyncpg

from domain import user as user_domain
from infra.postgres.bulk import run_statements
from infra.postgres.event_store import ConcurrencyError, StreamAppend
from projections import audit_trail
from schemas.envelope import Metadata
from services.authority import Authority
from services.commands import ATTEMPTS, load, new_events, utcnow

__all__ = ["erase_user"]

_VACUUM: Final = "VACUUM subject_keys"


async def erase_user(authority: Authority, user_id: str, reason: str, metadata: Metadata) -> bool:
    """Forget the user's personal data; False if they were erased already."""
    store, stream = authority.store, f"user-{user_id}"
    for _ in range(ATTEMPTS):
        state, head = await load(store, user_domain.decider, stream)
        events = user_domain.decider.decide(user_domain.EraseUser(reason=reason), state)
        if not events:
            return False
        try:
            async with authority.pool.acquire() as conn, conn.transaction():
                await authority.personal.erase(conn, user_id)
                appended = new_events(events, metadata, utcnow())
                await store.append_all([StreamAppend(stream, head, appended)], conn=conn)
                await run_statements(conn, [audit_trail.redaction(user_id)])
        except ConcurrencyError:
            authority.personal.forget(user_id)  # rolled back: the key may still be there
            continue
        except BaseException:
            authority.personal.forget(user_id)
            raise
        store.committed(urgent=True)  # user_disabled revokes every token of theirs
        await _vacuum(authority.pool)
        return True
    raise ConcurrencyError([stream])


async def _vacuum(pool: asyncpg.Pool) -> None:
    """Reclaim the destroyed key's old row version now rather than at the next autovacuum
    (it is sealed under the master key either way); best effort."""
    with contextlib.suppress(asyncpg.PostgresError):
        async with pool.acquire() as conn:
            await conn.execute(_VACUUM)
