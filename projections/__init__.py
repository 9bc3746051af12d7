"""Read models built from the log; each one is its tables plus a pure event -> SQL handler."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Final

from projections import (
    audit_trail,
    clients,
    connections,
    consents,
    providers,
    sso,
    token_state,
    users,
    workspaces,
)
from projections.projection import Projection, Statement
from schemas.envelope import RecordedEvent

__all__ = [
    "ALL",
    "ASYNC",
    "BY_NAME",
    "INLINE",
    "INLINE_BULK",
    "Projection",
    "Statement",
    "inline_statements",
]

# Inline projections run in the append's transaction (state that must never lag).
INLINE: Final[tuple[Projection, ...]] = (
    clients.PROJECTION,
    users.PROJECTION,
    token_state.PROJECTION,
    workspaces.PROJECTION,
    providers.PROJECTION,
    connections.PROJECTION,
    sso.PROJECTION,
)
ASYNC: Final[tuple[Projection, ...]] = (audit_trail.PROJECTION, consents.PROJECTION)
ALL: Final = INLINE + ASYNC
INLINE_BULK: Final = {**token_state.BULK}
BY_NAME: Final = {projection.name: projection for projection in ALL}


def inline_statements(recorded: Sequence[RecordedEvent]) -> Iterable[tuple[str, Sequence[object]]]:
    """What the inline projections write for a batch of appended events, in log order."""
    for event in recorded:
        for projection in INLINE:
            if event.event_type in projection.handles:
                yield from projection.statements(event)
