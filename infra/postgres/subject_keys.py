"""The `subject_keys` table: each person's data key, sealed under the master key, or its
tombstone once erased (migration 0009)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final, NamedTuple

import asyncpg

from infra.postgres import Connection
from schemas.events import Sealed

__all__ = ["KeyRow", "by_key_ids", "by_subjects", "create", "erase"]


class KeyRow(NamedTuple):
    subject_id: str
    key_id: str
    # None once erased.
    sealed_key: Sealed | None


_COLUMNS: Final = "subject_id, key_id, sealed_key"
_BY_SUBJECTS: Final = f"SELECT {_COLUMNS} FROM subject_keys WHERE subject_id = ANY($1::text[])"
_BY_KEY_IDS: Final = f"SELECT {_COLUMNS} FROM subject_keys WHERE key_id = ANY($1::text[])"
# A subject already known (another process made its key a moment ago, or it is erased)
# keeps what it has: the caller reads it back.
_CREATE: Final = f"""
INSERT INTO subject_keys (subject_id, key_id, sealed_key) VALUES ($1, $2, $3)
ON CONFLICT (subject_id) DO NOTHING RETURNING {_COLUMNS}
"""
_ERASE: Final = """
INSERT INTO subject_keys (subject_id, key_id, sealed_key, erased_at) VALUES ($1, $2, NULL, now())
ON CONFLICT (subject_id) DO UPDATE SET sealed_key = NULL,
    erased_at = coalesce(subject_keys.erased_at, now())
RETURNING key_id, erased_at
"""


def _row(record: asyncpg.Record) -> KeyRow:
    sealed = record["sealed_key"]
    return KeyRow(
        record["subject_id"], record["key_id"], None if sealed is None else Sealed(sealed)
    )


async def by_subjects(conn: Connection, subjects: Sequence[str]) -> list[KeyRow]:
    return [_row(r) for r in await conn.fetch(_BY_SUBJECTS, list(subjects))]


async def by_key_ids(conn: Connection, key_ids: Sequence[str]) -> list[KeyRow]:
    return [_row(r) for r in await conn.fetch(_BY_KEY_IDS, list(key_ids))]


async def create(conn: Connection, subject: str, key_id: str, sealed: Sealed) -> KeyRow:
    """The subject's key: this one, or the one (or tombstone) it already had."""
    made = await conn.fetchrow(_CREATE, subject, key_id, sealed)
    if made is not None:
        return _row(made)
    (existing,) = await by_subjects(conn, [subject])
    return existing


async def erase(conn: Connection, subject: str, key_id: str) -> str:
    """Destroy the subject's key, leaving its tombstone (made if it had none: `key_id`, so
    no key is ever made for it later); returns the key id the tombstone keeps."""
    row = await conn.fetchrow(_ERASE, subject, key_id)
    assert row is not None
    erased: str = row["key_id"]
    return erased
