"""An append and its inline projection writes as one statement (DECISIONS.md 11).

The events INSERT and each run of equal projection statements become data-modifying CTEs
of one statement: atomic by itself, so it needs no BEGIN/COMMIT round trips. A batch's
statement text depends only on which writes it holds, so each text is composed once per
process and asyncpg finds its prepared statement by the same string object every time.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from functools import partial
from typing import Any, Final

from infra.postgres.bulk import BulkForms, json_rows
from infra.postgres.notify import CHANNEL

__all__ = ["OneStatement"]

_PLACEHOLDER: Final = re.compile(r"\$(\d+)")
# What the statement selects once its CTEs have run: the followers' NOTIFY, delivered as it
# commits, or nothing. Every data-modifying CTE runs whether the select reads it or not.
_WAKE: Final = f"SELECT pg_notify('{CHANNEL}', '')"
_NO_WAKE: Final = "SELECT"
_KEPT_TEXTS: Final = 512  # distinct mixes of writes seen; far more than the projections make

Statement = tuple[str, Sequence[Any]]
Writes = tuple[str, ...]  # the projection statements, in order, one per run of equal ones


def _shift(match: re.Match[str], offset: int) -> str:
    return f"${int(match.group(1)) + offset}"


class OneStatement:
    """Composes `insert` (taking $1) with the bulk forms of the statements that follow it."""

    def __init__(self, insert: str, bulk: BulkForms) -> None:
        self._insert = insert.strip()
        self._bulk = bulk
        self._texts: dict[tuple[Writes, bool], str] = {}

    def split(self, statements: Sequence[Statement]) -> tuple[Writes, list[Any]] | None:
        """The writes the statement holds, in order, with their parameters; or None when
        they cannot be one statement: a write without a bulk form, or the same write twice
        with another between (each CTE sees the snapshot from before the statement, so
        their order would be lost)."""
        groups: list[tuple[str, list[Sequence[Any]]]] = []
        for sql, args in statements:
            if sql not in self._bulk:
                return None
            if groups and groups[-1][0] == sql:
                groups[-1][1].append(args)
            else:
                groups.append((sql, [args]))
        writes = tuple(sql for sql, _ in groups)
        if len(set(writes)) != len(writes):
            return None
        return writes, [json_rows(rows) for _, rows in groups]

    def text(self, writes: Writes, *, wake: bool) -> str:
        """The statement: the insert's $1, then one parameter per write. With `wake`, it
        also wakes the log followers as it commits."""
        text = self._texts.get((writes, wake))
        if text is not None:
            return text
        parts = [f"appended AS ({self._insert})"]
        for index, sql in enumerate(writes):
            renumbered = _PLACEHOLDER.sub(partial(_shift, offset=1 + index), self._bulk[sql])
            parts.append(f"projected_{index} AS ({renumbered})")
        text = f"WITH {', '.join(parts)} {_WAKE if wake else _NO_WAKE}"
        if len(self._texts) >= _KEPT_TEXTS:
            self._texts.clear()
        self._texts[(writes, wake)] = text
        return text
