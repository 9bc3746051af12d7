"""`keyledger audit verify-export`: an audit export checked offline, with no database.

Each checkpoint's signature is checked with the published public keys (a JWKS given by the
auditor, or else the keys the export carries), consecutive checkpoints must chain, each
event's hash is recomputed from its canonical fields, and each inclusion proof must lead to
its checkpoint's signed Merkle root. Every row that fails is named by its line. The file is
read a line at a time: memory holds the checkpoints only.
"""

from __future__ import annotations

import csv
import re
import sys
from collections.abc import Iterator, Mapping, Sequence
from typing import Final, TextIO

import msgspec

from domain.audit_checkpoint import payload_hash
from domain.merkle import verify_inclusion
from schemas.audit_checkpoint import AuditCheckpoint
from schemas.audit_export import EVENT_COLUMNS, ExportedEvent, ExportHeader
from schemas.canonical import event_hash
from services.checkpointer import open_checkpoint, verifying_keys

__all__ = ["ExportFormatError", "ExportVerdict", "RowFailure", "verify_export"]

_CSV_PREAMBLE: Final = "# "
_HEX_DIGEST: Final = re.compile(r"[0-9a-f]{64}")
_header_decoder = msgspec.json.Decoder(ExportHeader)
_event_decoder = msgspec.json.Decoder(ExportedEvent)


class ExportFormatError(Exception):
    """Not an export this command can read at all (as opposed to rows that fail)."""


class RowFailure(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    line: int
    problem: str
    global_position: int | None = None
    event_id: str | None = None


class ExportVerdict(msgspec.Struct, kw_only=True):
    user: str
    events: int = 0
    proven: int = 0
    not_yet_checkpointed: int = 0
    checkpoints: int = 0
    keys: str = "embedded"  # or "given": where the public keys came from
    checkpoint_failures: list[str] = msgspec.field(default_factory=list)
    failures: list[RowFailure] = msgspec.field(default_factory=list)

    @property
    def verified(self) -> bool:
        return not self.checkpoint_failures and not self.failures


def verify_export(
    lines: TextIO, jwks: Sequence[Mapping[str, object]] | None = None
) -> ExportVerdict:
    """Verify an export read from `lines`; `jwks` are the trusted keys (default: embedded)."""
    first = lines.readline()
    is_csv = first.startswith(_CSV_PREAMBLE)
    try:
        header = _header_decoder.decode(first.removeprefix(_CSV_PREAMBLE))
    except msgspec.MsgspecError as error:
        raise ExportFormatError(f"line 1 is not a keyledger audit export header: {error}") from None
    verdict = ExportVerdict(user=header.user, keys="embedded" if jwks is None else "given")
    signed = _checkpoints(header, header.jwks.keys if jwks is None else jwks, verdict)
    # The export carries the newest checkpoint: nothing before its end can be unsigned.
    covered = max(((c.last_tx_id, c.last_position) for c in signed.values()), default=(0, 0))
    for line, row in _csv_rows(lines) if is_csv else _ndjson_rows(lines):
        verdict.events += 1
        if isinstance(row, str):
            verdict.failures.append(RowFailure(line=line, problem=row))
            continue
        problem = _check(row, signed, covered)
        if problem is None:
            if row.status == "checkpointed":
                verdict.proven += 1
            else:
                verdict.not_yet_checkpointed += 1
        else:
            failure = RowFailure(
                line=line,
                problem=problem,
                global_position=row.global_position,
                event_id=str(row.event_id),
            )
            verdict.failures.append(failure)
    return verdict


def _checkpoints(
    header: ExportHeader, jwks: Sequence[Mapping[str, object]], verdict: ExportVerdict
) -> dict[int, AuditCheckpoint]:
    """The checkpoints whose signatures verify, by seq; each other one is named."""
    keys, unusable = verifying_keys(jwks)
    verdict.checkpoint_failures += [f"unusable key: {problem}" for problem in unusable]
    good: dict[int, AuditCheckpoint] = {}
    payloads: dict[int, bytes] = {}
    for listed in header.checkpoints:
        verdict.checkpoints += 1
        opened = open_checkpoint(listed.jws, keys)
        if not opened.signature_valid or opened.signed is None:
            verdict.checkpoint_failures.append(
                f"checkpoint {listed.seq}: signature does not verify with key {listed.kid!r}"
            )
        elif opened.signed.seq != listed.seq or not _HEX_DIGEST.fullmatch(
            opened.signed.merkle_root
        ):
            verdict.checkpoint_failures.append(
                f"checkpoint {listed.seq}: its signed payload is not checkpoint {listed.seq}'s"
            )
        else:
            good[listed.seq], payloads[listed.seq] = opened.signed, opened.payload
    for seq, checkpoint in good.items():
        before = payloads.get(seq - 1)
        if before is not None and checkpoint.prev_sha256 != payload_hash(before).hex():
            verdict.checkpoint_failures.append(
                f"checkpoint {seq}: does not extend checkpoint {seq - 1} (prev_sha256 differs)"
            )
    return good


def _check(
    row: ExportedEvent, signed: Mapping[int, AuditCheckpoint], covered: tuple[int, int]
) -> str | None:
    """What is wrong with one exported event, or None."""
    try:
        recorded, prev_hash = bytes.fromhex(row.hash), bytes.fromhex(row.prev_hash)
        proof = [bytes.fromhex(sibling) for sibling in row.proof or ()]
    except ValueError:
        return "malformed: hash, prev_hash and proof must be hex"
    recomputed = event_hash(
        prev_hash,
        stream_id=row.stream_id,
        stream_version=row.stream_version,
        event_id=row.event_id,
        event_type=row.event_type,
        schema_version=row.schema_version,
        occurred_at=row.occurred_at,
        metadata=row.metadata,
        data=row.data.encode("utf-8"),
    )
    if recomputed != recorded:
        return "altered: its fields do not hash to its recorded hash"
    if row.status == "not_yet_checkpointed":
        if (row.tx_id, row.global_position) <= covered:
            return "marked not yet checkpointed, but a signed checkpoint covers its place"
        return None
    return _proof_problem(row, recorded, proof, signed)


def _proof_problem(
    row: ExportedEvent,
    recorded: bytes,
    proof: list[bytes],
    signed: Mapping[int, AuditCheckpoint],
) -> str | None:
    checkpoint = signed.get(row.checkpoint) if row.checkpoint is not None else None
    if row.status == "not_in_checkpoint" or row.checkpoint is None:
        return f"the log no longer matched checkpoint {row.checkpoint} at this event when exported"
    if checkpoint is None:
        return f"checkpoint {row.checkpoint} is missing from the export or failed verification"
    place = (row.tx_id, row.global_position)
    first = (checkpoint.first_tx_id, checkpoint.first_position)
    if not first <= place <= (checkpoint.last_tx_id, checkpoint.last_position):
        return f"its place in the log is outside checkpoint {row.checkpoint}'s segment"
    root = bytes.fromhex(checkpoint.merkle_root)
    index = row.leaf_index
    if index is None or not verify_inclusion(recorded, index, checkpoint.event_count, proof, root):
        return f"its inclusion proof does not lead to checkpoint {row.checkpoint}'s signed root"
    return None


def _ndjson_rows(lines: TextIO) -> Iterator[tuple[int, ExportedEvent | str]]:
    for number, text in enumerate(lines, start=2):
        if not text.strip():
            continue
        try:
            yield number, _event_decoder.decode(text)
        except msgspec.MsgspecError as error:
            yield number, f"malformed event record: {error}"


def _csv_rows(lines: TextIO) -> Iterator[tuple[int, ExportedEvent | str]]:
    csv.field_size_limit(sys.maxsize)  # payloads may exceed the module's 128 KiB default
    reader = csv.reader(lines)
    columns = next(reader, None)
    # Exports from before `personal` existed lack its (last) column.
    if columns not in (list(EVENT_COLUMNS), list(EVENT_COLUMNS[:-1])):
        raise ExportFormatError(f"line 2 must name the columns {','.join(EVENT_COLUMNS)}")
    for cells in reader:
        number = reader.line_num + 1  # the preamble line was read before the reader started
        if len(cells) != len(columns):
            yield number, f"malformed row: {len(cells)} cells where {len(columns)} are expected"
            continue
        yield number, _from_cells(dict(zip(columns, cells, strict=True)))


def _from_cells(cells: dict[str, str]) -> ExportedEvent | str:
    values: dict[str, object] = {
        column: (None if text == "" and column != "data" else text)
        for column, text in cells.items()
    }
    try:
        values["metadata"] = msgspec.json.decode(cells["metadata"])
        values["proof"] = msgspec.json.decode(cells["proof"]) if cells["proof"] else None
        personal = cells.get("personal")
        values["personal"] = msgspec.json.decode(personal) if personal else None
        return msgspec.convert(values, ExportedEvent, strict=False)
    except msgspec.MsgspecError as error:
        return f"malformed row: {error}"
