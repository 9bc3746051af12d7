"""Read models built from the log; each one is its tables plus a pure event -> SQL handler."""

from __future__ import annotations

from typing import Final

from projections import audit_trail
from projections.projection import Projection, Statement

__all__ = ["ALL", "ASYNC", "BY_NAME", "INLINE", "Projection", "Statement"]

INLINE: Final[tuple[Projection, ...]] = ()
ASYNC: Final[tuple[Projection, ...]] = (audit_trail.PROJECTION,)
ALL: Final = INLINE + ASYNC
BY_NAME: Final = {projection.name: projection for projection in ALL}
