"""Exports of the current search: its audit rows (NDJSON or CSV, each with its chain hash),
and the user's signed events with what proves them offline (services/audit_export.py)."""

from __future__ import annotations

import tempfile
from collections.abc import AsyncIterator
from typing import Any, Final, TextIO, cast

import msgspec
from litestar import Request, Response, get
from litestar.response import Stream

from schemas.events import AuditTrailRead
from schemas.http.audit import ExportQuery
from services import compliance
from services.api.console.compliance import guarded
from services.api.console.search import Search, auditor, read_search
from services.api.console.session import denied
from services.audit_export import ExportWriter, export_user
from services.authority import Authority
from services.commands import append_to_new_stream, utcnow
from services.refusals import Refused

__all__ = ["export_search", "signed_export"]

_MEDIA: Final = {"ndjson": "application/x-ndjson", "csv": "text/csv; charset=utf-8"}
# Kept in memory up to this size, then on disk, while the signed export is assembled.
_SPOOL: Final = 4 * 1024 * 1024
_CHUNK: Final = 64 * 1024


def _format(search: Search) -> str:
    return "csv" if search.given.get("format") == "csv" else "ndjson"


def _attachment(kind: str, fmt: str) -> dict[str, str]:
    filename = f"keyledger-{kind}-{utcnow():%Y%m%dT%H%M%SZ}.{fmt}"
    return {
        "Content-Disposition": f'attachment; filename="{filename}"',
        "Cache-Control": "no-store",
        "X-Content-Type-Options": "nosniff",
    }


@get("/console/audit/export", status_code=200)
async def export_search(request: Request[Any, Any, Any]) -> Response[str] | Stream:
    """The search's rows, oldest first (recorded as an `export` read before the first)."""
    allowed = await guarded(request)
    if isinstance(allowed, Response):
        return allowed
    user, authority = allowed
    try:
        search = await read_search(request, authority)
        fields = msgspec.structs.asdict(search.query) | {"cursor": None}
        fmt = _format(search)
        query = ExportQuery(**fields, format="csv" if fmt == "csv" else "ndjson")
        caller = auditor(request, user)
        rows = compliance.export_filter(caller, query)
    except Refused as refused:
        return denied(user.viewer, refused.description, 400)
    return Stream(
        compliance.export(authority, caller, query, rows),
        media_type=_MEDIA[query.format],
        headers=_attachment("audit", query.format),
    )


async def _chunks(spool: TextIO) -> AsyncIterator[bytes]:
    try:
        spool.seek(0)
        while chunk := spool.read(_CHUNK):
            yield chunk.encode()
    finally:
        spool.close()


@get("/console/audit/signed-export", status_code=200)
async def signed_export(request: Request[Any, Any, Any]) -> Response[str] | Stream:
    """The named user's events in the range, with checkpoints, keys and inclusion proofs."""
    allowed = await guarded(request)
    if isinstance(allowed, Response):
        return allowed
    user, authority = allowed
    try:
        search = await read_search(request, authority)
    except Refused as refused:
        return denied(user.viewer, refused.description, 400)
    if search.user_id is None:
        return denied(user.viewer, "A signed export is of one user: name the user.", 400)
    fmt = _format(search)
    # The writer is synchronous and the events arrive from a cursor: spool, then stream.
    spool = cast(
        "TextIO",
        tempfile.SpooledTemporaryFile(_SPOOL, mode="w+", encoding="utf-8", newline=""),  # noqa: SIM115
    )
    summary = await export_user(
        authority.pool,
        ExportWriter(spool, "csv" if fmt == "csv" else "ndjson"),
        user=search.user_id,
        start=search.query.from_,
        end=search.query.to,
        now=utcnow(),
        personal=authority.personal,
    )
    await _record(authority, auditor(request, user), search, summary.events)
    return Stream(_chunks(spool), media_type=_MEDIA[fmt], headers=_attachment("signed-export", fmt))


async def _record(
    authority: Authority, caller: compliance.Auditor, search: Search, rows: int
) -> None:
    """Recorded as the audit API records its reads, before the answer is sent."""
    filters = {name: value for name, value in search.given.items() if name in ("from", "to")}
    filters |= {"user": search.user_id or "", "signed": "true", "format": _format(search)}
    read = AuditTrailRead(query="export", filters=filters, subject_user=search.user_id, rows=rows)
    metadata = msgspec.structs.replace(caller.metadata, subject_user=search.user_id)
    await append_to_new_stream(authority.group, "audit", [read], metadata)
