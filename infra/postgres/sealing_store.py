"""The event store that seals personal values before they are hashed and appended.

Every append of the service goes through `append_all`, so sealing here covers them all (the
group commit's too); the log, and everything published from it, never holds a personal
value in clear (schemas/personal_data.py). Inline projections get the appended events
opened again, with the keys the sealing has just held. Streams read back (`read_stream`)
keep the stored, sealed values: no decider needs a personal value.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import asyncpg
import msgspec

from infra.crypto.personal_data import PersonalData
from infra.postgres import Connection
from infra.postgres.event_store import EventStore, InlineProjector, StreamAppend, StreamHead
from schemas.envelope import RecordedEvent

__all__ = ["SealingEventStore"]


class SealingEventStore(EventStore):
    def __init__(
        self,
        pool: asyncpg.Pool,
        personal: PersonalData,
        *,
        inline: InlineProjector | None = None,
        **options: Any,
    ) -> None:
        def opened(recorded: Sequence[RecordedEvent]) -> Iterable[tuple[str, Sequence[Any]]]:
            assert inline is not None
            return inline([personal.open(event) for event in recorded])

        super().__init__(pool, inline=None if inline is None else opened, **options)
        self.personal = personal

    async def append_all(
        self, appends: Sequence[StreamAppend], *, conn: Connection | None = None
    ) -> list[StreamHead]:
        return await super().append_all(await self._sealed(appends, conn), conn=conn)

    async def _sealed(
        self, appends: Sequence[StreamAppend], conn: Connection | None = None
    ) -> Sequence[StreamAppend]:
        items = [(new.event, new.metadata) for append in appends for new in append.events]
        sealed = await self.personal.seal(items, conn)
        if sealed is None:
            return appends  # nothing personal: the common case costs no copy
        values = iter(sealed)
        out = []
        for append in appends:
            events = []
            for new in append.events:
                event, metadata = next(values)
                events.append(msgspec.structs.replace(new, event=event, metadata=metadata))
            out.append(StreamAppend(append.stream_id, append.expected, events))
        return out
