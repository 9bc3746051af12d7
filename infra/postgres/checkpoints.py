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


# The first committed event after the checkpoint. Asked once a follower's read came back
# empty, so any such event is held back by the horizon (an older transaction is open: a
# projector's write, a notification) or committed since: either way the follower looks again
# shortly instead of sleeping. Ordered and limited, so that it starts from the checkpoint in
# the (tx_id, global_position) index: an EXISTS with the horizon test would be planned as a
# scan of whole partitions, since the planner cannot tell how few rows pass that test.
_FIRST_AFTER = """
SELECT tx_id FROM events
WHERE (tx_id, global_position) > (
        coalesce((SELECT tx_id FROM checkpoints WHERE name = $1), '0'::xid8),
        coalesce((SELECT global_position FROM checkpoints WHERE name = $1), 0))
ORDER BY tx_id, global_position
LIMIT 1
"""


async def held_back(conn: Connection, name: str) -> bool:
    """Whether committed events after follower `name`'s checkpoint are still to be read;
    asked after a read that returned none, when only the horizon can hold them back."""
    return await conn.fetchval(_FIRST_AFTER, name) is not None
