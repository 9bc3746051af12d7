"""What a projection is: its tables, the events it handles, and a pure event -> SQL function."""

from __future__ import annotations

import importlib.resources
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from schemas.envelope import RecordedEvent

__all__ = ["Projection", "Statement", "json_rows", "load_ddl"]


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
    # Row statement -> the same write for many rows at once, for batches: its one parameter
    # holds the rows' arguments as a JSON array of arrays (see `json_rows`).
    bulk: Mapping[str, str] = field(default_factory=dict)
    # CREATE INDEX statements, idempotent. A rebuild runs them after its replay: building an
    # index once over the rows is several times cheaper than maintaining it row by row.
    indexes: str = ""

    @property
    def drop_sql(self) -> str:
        return "".join(f"DROP TABLE IF EXISTS {table} CASCADE;\n" for table in self.tables)


def json_rows(columns: str, *, ordinality: bool = False) -> str:
    """A FROM item over `$1::jsonb`, the rows of a bulk form as a JSON array of positional
    arrays, named and typed by `columns` ("name type, ..."); with `ordinality`, `n` numbers
    them from 1.

    One JSON document costs a fraction of one array per column, in the driver (which checks
    every array element's type in Python) and in PostgreSQL alike. bytea travels as base64
    (how msgspec encodes bytes), jsonb as a nested value.
    """
    fields = []
    for index, column in enumerate(columns.split(",")):
        name, kind = column.split()
        value = f"v->>{index}"
        if kind == "bytea":
            fields.append(f"decode({value}, 'base64') AS {name}")
        elif kind == "jsonb":
            fields.append(f"v->{index} AS {name}")
        else:
            fields.append(f"({value})::{kind} AS {name}")
    numbered = " WITH ORDINALITY AS x(v, n)" if ordinality else " AS x(v)"
    return (
        f"jsonb_array_elements($1::jsonb){numbered} CROSS JOIN LATERAL "
        f"(SELECT {', '.join(fields)}) AS r"
    )


def load_ddl(name: str) -> str:
    return (importlib.resources.files("projections") / f"{name}.sql").read_text(encoding="utf-8")
