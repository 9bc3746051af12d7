"""Audit rows: filtered pages, one user's timeline, and streamed exports (NDJSON or CSV)."""

from __future__ import annotations

from typing import Any, Final

from litestar import Request, get
from litestar.di import NamedDependency
from litestar.params import FromPath
from litestar.response import Stream

from schemas.http.audit import AuditPage, EventsQuery, ExportQuery, TimelineQuery
from services import compliance
from services.api.audit.query import path_text, read_query
from services.authority import Authority
from services.commands import utcnow
from services.compliance import Auditor

__all__ = ["export_audit_trail", "list_audit_events", "user_timeline"]

_MEDIA: Final = {"ndjson": "application/x-ndjson", "csv": "text/csv; charset=utf-8"}


def _authority(request: Request[Any, Any, Any]) -> Authority:
    authority: Authority = request.app.state.authority
    return authority


@get("/events")
async def list_audit_events(
    request: Request[Any, Any, Any], auditor: NamedDependency[Auditor]
) -> AuditPage:
    query = read_query(request, EventsQuery)
    return await compliance.read_page(_authority(request), auditor, query)


@get("/users/{user_id:str}/timeline")
async def user_timeline(
    request: Request[Any, Any, Any], auditor: NamedDependency[Auditor], user_id: FromPath[str]
) -> AuditPage:
    user = path_text(user_id, "user_id")
    query = read_query(request, TimelineQuery)
    return await compliance.read_page(_authority(request), auditor, query, user=user)


@get("/export")
async def export_audit_trail(
    request: Request[Any, Any, Any], auditor: NamedDependency[Auditor]
) -> Stream:
    query = read_query(request, ExportQuery)
    rows = compliance.export_filter(auditor, query)
    filename = f"keyledger-audit-{utcnow():%Y%m%dT%H%M%SZ}.{query.format}"
    return Stream(
        compliance.export(_authority(request), auditor, query, rows),
        media_type=_MEDIA[query.format],
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )
