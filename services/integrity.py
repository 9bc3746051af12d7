"""Running the log's verification on behalf of someone, and its latest recorded verdict.

`keyledger audit verify` prints its report; the console records each run it starts as an
`audit_log_verified` event (who ran it in the metadata), so the latest verdict is on the
record and shown from the audit trail, not kept in memory.
"""

from __future__ import annotations

from typing import Final

from projections.audit_trail_queries import RowFilter, page
from schemas.envelope import Metadata, RecordedEvent
from schemas.events import AuditLogVerified
from services.audit import AuditReport, audit_log
from services.authority import Authority
from services.commands import append_to_new_stream

__all__ = ["latest_verification", "verify_and_record"]

_DESCRIBED: Final = 20


def _described(report: AuditReport) -> tuple[str, ...]:
    chains = [
        f"{b.kind}: {b.stream_id} version {b.stream_version} (position {b.global_position}):"
        f" {b.detail}"
        for b in report.breaks
    ]
    checkpoints = [
        f"{b.kind}: checkpoint {b.checkpoint}"
        + (f", position {b.global_position}" if b.global_position is not None else "")
        + f": {b.detail}"
        for b in report.checkpoint_breaks
    ]
    return tuple((chains + checkpoints)[:_DESCRIBED])


async def verify_and_record(authority: Authority, metadata: Metadata) -> AuditLogVerified:
    """Verify every chain and checkpoint, then append the verdict."""
    report = await audit_log(authority.pool)
    verdict = AuditLogVerified(
        intact=report.intact,
        events=report.events,
        streams=report.streams,
        last_position=report.last_position,
        checkpoints=report.checkpoints,
        checkpointed_up_to=report.checkpointed_up_to,
        not_checkpointed=report.not_checkpointed,
        breaks=len(report.breaks) + len(report.checkpoint_breaks),
        described=_described(report),
    )
    await append_to_new_stream(authority.group, "audit", [verdict], metadata)
    return verdict


async def latest_verification(authority: Authority) -> RecordedEvent | None:
    """The newest recorded verification (once the projector has it in the trail)."""
    async with authority.pool.acquire() as conn:
        found, _ = await page(conn, RowFilter(action="audit_log_verified"), 1)
    if not found:
        return None
    history, _ = await authority.store.read_stream(found[0]["stream_id"])
    return next((e for e in history if isinstance(e.event, AuditLogVerified)), None)
