"""Many rows of one statement in one round trip: the bulk forms of row statements."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Final

import msgspec

from infra.postgres import Connection

__all__ = ["BulkForms", "json_rows", "run_statements"]

# Row-at-a-time SQL -> the same write for many rows at once, which lets an append and its
# projection rows go in one statement: one round trip, no BEGIN. A bulk form takes one
# parameter, `$1::jsonb`: the rows' arguments as a JSON array of arrays, in order
# (projections.projection.json_rows reads it). One JSON document costs a fraction of one
# array per column, in the driver and in PostgreSQL alike.
BulkForms = Mapping[str, str]

_rows_encoder: Final = msgspec.json.Encoder()


def json_rows(rows: Sequence[Sequence[Any]]) -> str:
    """The one parameter of a bulk form (BulkForms): rows as a JSON array of arrays."""
    return _rows_encoder.encode(rows).decode()


async def run_statements(
    conn: Connection,
    statements: Iterable[tuple[str, Sequence[Any]]],
    bulk: BulkForms | None = None,
) -> None:
    """Run statements in order; a run of the same SQL goes as one statement over its rows when
    it has a bulk form, else as one executemany."""
    batch_sql: str | None = None
    batch: list[Sequence[Any]] = []
    for sql, args in statements:
        if sql != batch_sql and batch:
            await _run_batch(conn, batch_sql or "", batch, bulk)
            batch = []
        batch_sql = sql
        batch.append(args)
    if batch and batch_sql is not None:
        await _run_batch(conn, batch_sql, batch, bulk)


async def _run_batch(
    conn: Connection, sql: str, batch: list[Sequence[Any]], bulk: BulkForms | None
) -> None:
    many = bulk.get(sql) if bulk and len(batch) > 1 else None
    if many is None:
        await conn.executemany(sql, batch)
    else:
        await conn.execute(many, json_rows(batch))
