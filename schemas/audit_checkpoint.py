"""The signed checkpoint: a contract, re-implemented by offline verifiers.

A checkpoint covers one segment of the log, read in follower order (tx_id, global_position):
every event after the previous checkpoint's last one up to its own last one. It is a compact
JWS (RFC 7515, ES256, header `typ` = CHECKPOINT_TYP and the signing key's `kid`) whose
payload is an AuditCheckpoint as JSON:

- `merkle_root`: hex of the RFC 6962 Merkle tree head over the segment's event hashes in
  order (leaf = SHA-256(0x00 || event hash), node = SHA-256(0x01 || left || right));
- `order_sha256`: hex of SHA-256 over u64be(tx_id) || u64be(global_position) of each of
  those events in order, so the place of each event is signed too;
- `prev_sha256`: hex of SHA-256 over the previous checkpoint's payload bytes exactly as
  signed (the decoded second JWS segment); 64 zeros for `seq` 1. Checkpoints form a chain.
"""

from __future__ import annotations

from typing import Final

import msgspec

__all__ = ["CHECKPOINT_TYP", "GENESIS_CHECKPOINT", "AuditCheckpoint"]

CHECKPOINT_TYP: Final = "keyledger-checkpoint+jwt"
GENESIS_CHECKPOINT: Final = bytes(32)


class AuditCheckpoint(msgspec.Struct, frozen=True, kw_only=True):
    """What a checkpoint signs. Field order is the encoding order."""

    version: int = 1
    iss: str
    # Seconds since the epoch, when it was sealed.
    iat: int
    seq: int
    first_tx_id: int
    first_position: int
    last_tx_id: int
    last_position: int
    event_count: int
    merkle_root: str
    order_sha256: str
    prev_sha256: str
