"""Personal values sealed under each person's data key, and opened again while it exists.

The format is schemas/personal_data.py's. Data keys are random AES-256-GCM keys, sealed
under the master key in `subject_keys`; this process keeps the open ones in memory for
`keep_s` seconds, so a user's requests cost no round trip for their key (one per person and
period at most). An erasure in this process holds at once; another process's within
`keep_s`, and the projector's as soon as it reads the erasure's event (`forget`).
"""

from __future__ import annotations

import base64
import binascii
import os
import time
from collections.abc import Callable, Iterable, Sequence
from typing import Final, NamedTuple

import asyncpg
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from infra.crypto.sealing import Sealer, SealError
from infra.postgres import Connection, subject_keys
from infra.postgres.subject_keys import KeyRow
from schemas.envelope import Metadata, RecordedEvent
from schemas.events import Event, UserErased
from schemas.personal_data import (
    REDACTED,
    SEALED_PREFIX,
    PersonalField,
    associated_data,
    is_sealed,
    personal_values,
    rewrite,
)

__all__ = ["KEEP_S", "PersonalData", "key_context"]

KEEP_S: Final = 30.0
_KEY_BYTES: Final = 32
_NONCE_BYTES: Final = 12
_TAG_BYTES: Final = 16
# Past this many keys held, older ones are dropped (memory stays bounded under any load).
_MAX_KEYS: Final = 100_000


def key_context(subject: str, key_id: str) -> str:
    """What a data key is sealed under the master key with: it cannot pass for another's."""
    return f"subject_key:{subject}:{key_id}"


class _Key(NamedTuple):
    subject: str
    key_id: str
    aead: AESGCM | None  # None: erased, or not openable with this master key
    fetched: float


class PersonalData:
    """Seals and opens personal values; the one reader everything personal goes through."""

    def __init__(
        self,
        pool: asyncpg.Pool,
        sealer: Sealer,
        *,
        keep_s: float = KEEP_S,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._pool = pool
        self._sealer = sealer
        self._keep_s = keep_s
        self._clock = clock
        self._by_subject: dict[str, _Key] = {}
        self._by_key_id: dict[str, _Key] = {}
        # Key ids known to be destroyed (a tombstone was read): few, and never reused.
        self._erased: set[str] = set()

    # -- sealing (before an append) --------------------------------------------------------

    async def seal(
        self, items: Sequence[tuple[Event, Metadata]], conn: Connection | None = None
    ) -> list[tuple[Event, Metadata]] | None:
        """Each (event, metadata) with its personal values sealed; None when none has any,
        which costs a type lookup and two attribute reads per event. Keys not held are read
        on `conn` (the caller's transaction) when given."""
        subjects = {
            subject for event, meta in items for subject, _, _ in personal_values(event, meta)
        }
        if not subjects:
            return None
        await self._ensure(subjects, conn)
        return [rewrite(event, meta, self._seal_value) for event, meta in items]

    async def _ensure(self, subjects: Iterable[str], conn: Connection | None) -> None:
        now = self._clock()
        missing = [s for s in subjects if not self._fresh(self._by_subject.get(s), now)]
        if not missing:
            return
        if len(self._by_key_id) > _MAX_KEYS:
            self._evict(now)
        # Reading on the caller's connection takes no second one from the pool (which callers
        # holding a connection each could otherwise exhaust waiting for it).
        if conn is not None:
            found = await subject_keys.by_subjects(conn, missing)
        else:
            async with self._pool.acquire() as own:
                found = await subject_keys.by_subjects(own, missing)
        for row in found:
            self._hold(row, now)
        held = {row.subject_id for row in found}
        new = [subject for subject in missing if subject not in held]
        if not new:
            return
        # Keys are made on a connection of their own, committed at once: a key must outlive
        # the caller's transaction rolling back, or a value sealed under it would be lost.
        async with self._pool.acquire() as own:
            for subject in new:
                key_id = os.urandom(8).hex()
                key = os.urandom(_KEY_BYTES)
                sealed = self._sealer.seal(key, context=key_context(subject, key_id))
                self._hold(await subject_keys.create(own, subject, key_id, sealed), now)

    def _seal_value(self, subject: str, field: PersonalField, value: str) -> str:
        key = self._by_subject[subject]
        if key.aead is None:
            if key.key_id not in self._erased:
                # A key this master key cannot open: refuse, rather than lose the value.
                raise SealError(f"the data key {key.key_id!r} does not open with this master key")
            return REDACTED  # an erased person: nothing of theirs is kept, not even sealed
        nonce = os.urandom(_NONCE_BYTES)
        aad = associated_data(key.key_id, subject, field)
        body = nonce + key.aead.encrypt(nonce, value.encode("utf-8"), aad)
        encoded = base64.urlsafe_b64encode(body).rstrip(b"=").decode("ascii")
        return f"{SEALED_PREFIX}{key.key_id}:{encoded}"

    # -- opening (reading) -----------------------------------------------------------------

    async def load(self, conn: Connection, recorded: Iterable[RecordedEvent]) -> None:
        """Fetch the keys these events' sealed values need and this process does not hold
        fresh (one query, none when all are held)."""
        values = (
            value
            for event in recorded
            for _, _, value in personal_values(event.event, event.metadata)
        )
        await self._load(conn, values)

    async def _load(self, conn: Connection, values: Iterable[str]) -> None:
        now = self._clock()
        wanted = {
            key_id
            for value in values
            if (key_id := _key_id_of(value)) is not None
            and not self._fresh(self._by_key_id.get(key_id), now)
        }
        if wanted:
            if len(self._by_key_id) > _MAX_KEYS:
                self._evict(now)
            for row in await subject_keys.by_key_ids(conn, sorted(wanted)):
                self._hold(row, now)

    async def read(self, conn: Connection, event: Event, metadata: Metadata) -> dict[str, str]:
        """Each personal value of one event, by field, as it reads now (clear or REDACTED)."""
        values = list(personal_values(event, metadata))
        await self._load(conn, (value for _, _, value in values))
        return {field: self._open_value(subject, field, value) for subject, field, value in values}

    def open(self, recorded: RecordedEvent) -> RecordedEvent:
        """The event with its personal values in clear, or REDACTED where the key is gone
        (or was never loaded: see `load`). Values from before sealing pass as they are."""
        event, meta = rewrite(recorded.event, recorded.metadata, self._open_value)
        if event is recorded.event and meta is recorded.metadata:
            return recorded
        return RecordedEvent(
            global_position=recorded.global_position,
            tx_id=recorded.tx_id,
            stream_id=recorded.stream_id,
            stream_version=recorded.stream_version,
            event_id=recorded.event_id,
            event_type=recorded.event_type,
            schema_version=recorded.schema_version,
            occurred_at=recorded.occurred_at,
            event=event,
            metadata=meta,
            hash=recorded.hash,
        )

    async def opened(
        self, conn: Connection, recorded: Sequence[RecordedEvent]
    ) -> list[RecordedEvent]:
        """`open` for a batch read from the log: the keys fetched first, and the key of anyone
        erased within the batch treated as gone for all of it."""
        for event in recorded:
            if isinstance(event.event, UserErased):
                self.forget(event.event.user_id)
        await self.load(conn, recorded)
        return [self.open(event) for event in recorded]

    def _open_value(self, subject: str, field: PersonalField, value: str) -> str:
        key_id = _key_id_of(value)
        if key_id is None:
            return value  # in clear: written before personal data was sealed
        key = self._by_key_id.get(key_id)
        if key is None or key.aead is None:
            return REDACTED
        try:
            text = _body_of(value)
            body = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
            if len(body) < _NONCE_BYTES + _TAG_BYTES:
                return REDACTED
            aad = associated_data(key_id, key.subject, field)
            return key.aead.decrypt(body[:_NONCE_BYTES], body[_NONCE_BYTES:], aad).decode()
        except (binascii.Error, ValueError, InvalidTag):
            return REDACTED

    # -- erasure ---------------------------------------------------------------------------

    async def erase(self, conn: Connection, subject: str) -> None:
        """Destroy the subject's key in `conn`'s transaction; forgotten here at once."""
        key_id = await subject_keys.erase(conn, subject, os.urandom(8).hex())
        self._hold(KeyRow(subject, key_id, None), self._clock())

    def forget(self, subject: str) -> None:
        """Read the subject's key afresh next time (it may have been erased elsewhere)."""
        key = self._by_subject.pop(subject, None)
        if key is not None:
            self._by_key_id.pop(key.key_id, None)

    # -- the cache -------------------------------------------------------------------------

    def _evict(self, now: float) -> None:
        """Drop stale keys, then any not used this second: never one an append in flight
        has just sealed with (its inline projections open what it sealed)."""
        for age in (self._keep_s, 1.0):
            for key in [k for k in self._by_key_id.values() if now - k.fetched >= age]:
                self._by_key_id.pop(key.key_id, None)
                if self._by_subject.get(key.subject) is key:
                    del self._by_subject[key.subject]
            if len(self._by_key_id) <= _MAX_KEYS:
                return

    def _fresh(self, key: _Key | None, now: float) -> bool:
        return key is not None and now - key.fetched < self._keep_s

    def _hold(self, row: KeyRow, now: float) -> None:
        aead = None
        if row.sealed_key is None:
            self._erased.add(row.key_id)
        else:
            try:
                raw = self._sealer.open(
                    row.sealed_key, context=key_context(row.subject_id, row.key_id)
                )
            except SealError:
                raw = None  # another master key's: its values read redacted, none sealed
            aead = None if raw is None else AESGCM(raw)
        key = _Key(row.subject_id, row.key_id, aead, now)
        self._by_subject[row.subject_id] = key
        self._by_key_id[row.key_id] = key


def _key_id_of(value: str) -> str | None:
    if not is_sealed(value):
        return None
    key_id, sep, _ = value[len(SEALED_PREFIX) :].partition(":")
    return key_id if sep and key_id else None


def _body_of(value: str) -> str:
    return value[len(SEALED_PREFIX) :].partition(":")[2]
