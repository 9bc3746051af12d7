"""Where each follower of the log has got to, advanced only forwards and in its own transaction."""

from __future__ import annotations

from infra.postgres import Connection
from infra.postgres.event_store import START, Checkpoint

__all__ = ["CheckpointConflict", "advance", "held_back", "load", "reset"]


class CheckpointConflict(Exception):
    """Another worker moved this checkpoint past ours: our batch must be rolled back."""


_LOAD = "SELECT tx_id, global_position FROM checkpoints WHERE name = $1"

# The monotonic guard: the update only happens if it moves the checkpoint forwards.
_ADVANCE = """
INSERT INTO checkpoints AS c (name, tx_id, global_position) VALUES ($1, $2::xid8, $3)
ON CONFLICT (name) DO UPDATE
    SET tx_id = excluded.tx_id, global_position = excluded.global_position, updated_at = now()
    WHERE (c.tx_id, c.global_position) < (excluded.tx_id, excluded.global_position)
"""

_RESET = """
INSERT INTO checkpoints AS c (name, tx_id, global_position) VALUES ($1, $2::xid8, $3)
ON CONFLICT (name) DO UPDATE
    SET tx_id = excluded.tx_id, global_position = excluded.global_position, updated_at = now()
"""


async def load(conn: Connection, name: str) -> Checkpoint:
    row = await conn.fetchrow(_LOAD, name)
    return START if row is None else Checkpoint(row["tx_id"], row["global_position"])


async def advance(conn: Connection, name: str, to: Checkpoint) -> None:
    status = await conn.execute(_ADVANCE, name, to.tx_id, to.global_position)
    if status.endswith(" 0"):
        raise CheckpointConflict(name)


async def reset(conn: Connection, name: str, to: Checkpoint) -> None:
    """Move a checkpoint anywhere, backwards included (rebuilds, republishing)."""
    await conn.execute(_RESET, name, to.tx_id, to.global_position)


# Committed events after the checkpoint that the horizon still holds back: an older
# transaction is open (a projector's write, a notification). It will commit without a
# NOTIFY of its own, so a follower that sees this looks again shortly instead of sleeping.
_HELD_BACK = """
SELECT EXISTS (
    SELECT 1 FROM events
    WHERE (tx_id, global_position) > (
            coalesce((SELECT tx_id FROM checkpoints WHERE name = $1), '0'::xid8),
            coalesce((SELECT global_position FROM checkpoints WHERE name = $1), 0))
      AND tx_id >= pg_snapshot_xmin(pg_current_snapshot()))
"""


async def held_back(conn: Connection, name: str) -> bool:
    """Whether committed events after follower `name`'s checkpoint wait behind the horizon."""
    return bool(await conn.fetchval(_HELD_BACK, name))
