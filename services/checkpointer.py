"""The checkpointer: seals segments of the log into signed checkpoints, exactly once.

A segment closes at `checkpoint_events` events, or `checkpoint_interval_s` after the previous
checkpoint when at least one event came since. Sealing reads the pending events in follower
order, signs the checkpoint with the current ES256 key, appends it and advances the follower
checkpoint in one transaction under an advisory lock, so a crash, a second worker or the
`keyledger audit checkpoint` command can neither skip nor repeat an event. One checkpointer
leads at a time (a session advisory lock, like the relay); others stand by.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Iterable, Mapping
from datetime import datetime
from typing import Final

import asyncpg
import msgspec
import structlog

from domain.audit_checkpoint import Manifest, payload_hash, seal
from infra.crypto.jwt import SigningKey, VerifyingKeys, signed_payload
from infra.crypto.sealing import Sealer, SealError
from infra.postgres import Connection, audit_checkpoints, checkpoints
from infra.postgres.audit_checkpoints import CHECKPOINTER, CheckpointRow
from infra.postgres.checkpoints import CheckpointConflict
from infra.postgres.event_store import Checkpoint
from infra.postgres.outage import OUTAGE_ERRORS
from schemas.audit_checkpoint import CHECKPOINT_TYP, AuditCheckpoint
from services.commands import utcnow
from services.keys import ACCESS_ALG, KeyRing, load_keys

__all__ = [
    "CHECKPOINTER_LOCK",
    "Checkpointer",
    "OpenedCheckpoint",
    "SignerSource",
    "key_ring_signer",
    "open_checkpoint",
    "seal_segment",
    "verifying_keys",
]

CHECKPOINTER_LOCK: Final = 0x6B6C_636B  # "klck": the leading checkpointer
_SEAL_LOCK: Final = 0x6B6C_6373  # "klcs": one seal at a time, whoever seals
_STANDBY_S: Final = 1.0

log = structlog.get_logger(__name__)

# The key that signs the next checkpoint (None while the service has none yet).
SignerSource = Callable[[], Awaitable[SigningKey | None]]


def key_ring_signer(pool: asyncpg.Pool, sealer: Sealer) -> SignerSource:
    """The ring's current ES256 key, looked up before each seal so rotations apply at once."""
    ring: KeyRing | None = None

    async def current() -> SigningKey | None:
        nonlocal ring
        ring = await load_keys(pool, sealer, known=ring)
        return ring.signing.get(ACCESS_ALG)

    return current


async def seal_segment(
    conn: Connection,
    signer: SigningKey,
    *,
    issuer: str,
    max_events: int,
    now: datetime | None = None,
) -> AuditCheckpoint | None:
    """Seal the next segment (up to `max_events` pending events); None if none is pending."""
    now = now or utcnow()
    async with conn.transaction():
        await conn.execute("SELECT pg_advisory_xact_lock($1)", _SEAL_LOCK)
        events = await audit_checkpoints.pending(conn, max_events)
        if not events:
            return None
        newest = await audit_checkpoints.newest(conn)
        previous = None
        if newest is not None:
            signed = signed_payload(newest.jws) or b""
            # Chaining to what was signed, not to the row's columns: an edited row breaks the
            # chain here (refused by the table's trigger) instead of being vouched for.
            previous = (msgspec.json.decode(signed, type=AuditCheckpoint), signed)
        checkpoint = seal(events, previous=previous, issuer=issuer, iat=int(now.timestamp()))
        jws = signer.sign_jwt(msgspec.to_builtins(checkpoint), typ=CHECKPOINT_TYP)
        await audit_checkpoints.insert(
            conn,
            CheckpointRow(
                seq=checkpoint.seq,
                first_tx_id=checkpoint.first_tx_id,
                first_position=checkpoint.first_position,
                last_tx_id=checkpoint.last_tx_id,
                last_position=checkpoint.last_position,
                event_count=checkpoint.event_count,
                merkle_root=bytes.fromhex(checkpoint.merkle_root),
                prev_hash=bytes.fromhex(checkpoint.prev_sha256),
                hash=payload_hash(signed_payload(jws) or b""),
                kid=signer.kid,
                jws=jws,
                sealed_at=now,
                manifest=Manifest.of(events),
            ),
        )
        last = events[-1]
        await checkpoints.advance(conn, CHECKPOINTER, Checkpoint(last.tx_id, last.global_position))
    return checkpoint


class Checkpointer:
    def __init__(
        self,
        pool: asyncpg.Pool,
        signer: SignerSource,
        *,
        issuer: str,
        max_events: int = 10_000,
        interval_s: float = 60.0,
        poll_interval: float = 0.5,
    ) -> None:
        self._pool = pool
        self._signer = signer
        self._issuer = issuer
        self._max_events = max_events
        self._interval_s = interval_s
        # A segment may close up to one poll late: checkpoints tolerate that, and a count of
        # pending events per poll costs one index scan.
        self._poll_interval = min(poll_interval, interval_s)
        self.leading = asyncio.Event()

    async def run(self) -> None:
        """Run forever: stand by until the lock is ours, then seal segments as they fill."""
        while True:
            try:
                async with self._pool.acquire() as conn:
                    if await conn.fetchval("SELECT pg_try_advisory_lock($1)", CHECKPOINTER_LOCK):
                        try:
                            await self._lead(conn)
                        finally:
                            self.leading.clear()
                            if not conn.is_closed():
                                await conn.execute("SELECT pg_advisory_unlock_all()")
            except OUTAGE_ERRORS as error:
                log.warning("checkpointer_database_error", error=str(error))
            except (SealError, CheckpointConflict, msgspec.MsgspecError, ValueError) as error:
                # A master key that opens no signing key, or a newest checkpoint that is not
                # what was signed: `keyledger audit verify` says more; sealing waits meanwhile.
                log.error("checkpointer_cannot_seal", error=str(error))
            await asyncio.sleep(_STANDBY_S)

    async def _lead(self, conn: Connection) -> None:
        log.info("checkpointer_leading")
        self.leading.set()
        last_sealed = time.monotonic()
        pending = audit_checkpoints.PendingCount()
        while True:
            waiting = await pending.count(conn, self._max_events)
            timed_out = time.monotonic() - last_sealed >= self._interval_s
            if waiting >= self._max_events or (waiting and timed_out):
                # Whatever happens, count afresh: the stored place is the truth (another
                # sealer, `keyledger audit checkpoint`, may have moved it meanwhile).
                pending.reset()
                signer = await self._signer()
                if signer is None:
                    log.warning("checkpointer_has_no_signing_key")
                else:
                    sealed = await seal_segment(
                        conn, signer, issuer=self._issuer, max_events=self._max_events
                    )
                    if sealed is not None:
                        last_sealed = time.monotonic()
                        log.info(
                            "checkpoint_sealed",
                            seq=sealed.seq,
                            events=sealed.event_count,
                            last_position=sealed.last_position,
                        )
                        continue  # a backlog is sealed segment after segment
            await asyncio.sleep(self._poll_interval)


class OpenedCheckpoint(msgspec.Struct, frozen=True):
    """A checkpoint's JWS read: its payload (None if unreadable), the bytes signed, and whether
    the signature verifies with the key its `kid` names."""

    signed: AuditCheckpoint | None
    payload: bytes
    signature_valid: bool


_checkpoint_decoder = msgspec.json.Decoder(AuditCheckpoint)


def open_checkpoint(jws: str, keys: VerifyingKeys) -> OpenedCheckpoint:
    payload = signed_payload(jws) or b""
    try:
        signed: AuditCheckpoint | None = _checkpoint_decoder.decode(payload)
    except msgspec.MsgspecError:
        signed = None
    valid = keys.verify(jws, typ=CHECKPOINT_TYP) is not None
    return OpenedCheckpoint(signed, payload, valid)


def verifying_keys(jwks: Iterable[Mapping[str, object]]) -> tuple[VerifyingKeys, list[str]]:
    """The usable keys of a JWKS, and a line for each unusable one (skipped, not fatal: a
    checkpoint it signed then fails its signature check and is named)."""
    usable: list[Mapping[str, object]] = []
    problems: list[str] = []
    for jwk in jwks:
        try:
            VerifyingKeys.from_jwks([jwk])
        except ValueError as error:
            problems.append(str(error))
        else:
            if all(jwk.get("kid") != seen.get("kid") for seen in usable):
                usable.append(jwk)
    return VerifyingKeys.from_jwks(usable), problems
