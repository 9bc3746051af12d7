"""What a projection is: its tables, the events it handles, and a pure event -> SQL function."""

from __future__ import annotations

import importlib.resources
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from schemas.envelope import RecordedEvent

__all__ = ["Projection", "Statement", "load_ddl"]


class Statement(NamedTuple):
    """One parameterised SQL statement; consecutive equal `sql` are batched with executemany."""

    sql: str
    args: Sequence[Any]


@dataclass(frozen=True, slots=True)
class Projection:
    name: str
    # Event types this projection reads; others are skipped without decoding.
    handles: frozenset[str]
    # Tables it owns, dropped on rebuild (dependents first).
    tables: tuple[str, ...]
    # CREATE statements, idempotent (IF NOT EXISTS), from `<name>.sql` beside the module.
    ddl: str
    statements: Callable[[RecordedEvent], Sequence[Statement]]
    # Inline projections run in the append's transaction; the others in the projector.
    inline: bool = False
    # Row statement -> the same write for many rows from arrays (`unnest`), for batches.
    bulk: Mapping[str, str] = field(default_factory=dict)
    # CREATE INDEX statements, idempotent. A rebuild runs them after its replay: building an
    # index once over the rows is several times cheaper than maintaining it row by row.
    indexes: str = ""

    @property
    def drop_sql(self) -> str:
        return "".join(f"DROP TABLE IF EXISTS {table} CASCADE;\n" for table in self.tables)


def load_ddl(name: str) -> str:
    return (importlib.resources.files("projections") / f"{name}.sql").read_text(encoding="utf-8")
