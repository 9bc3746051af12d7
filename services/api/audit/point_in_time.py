"""What a user or a client held at an instant: tokens, scopes, consents, from the log."""

from __future__ import annotations

from typing import Any

from litestar import Request, get
from litestar.di import NamedDependency

from schemas.http.audit import Holdings, PointInTimeQuery
from services import compliance
from services.api.audit.query import read_query
from services.authority import Authority
from services.compliance import Auditor

__all__ = ["held_at"]


@get("/point-in-time")
async def held_at(request: Request[Any, Any, Any], auditor: NamedDependency[Auditor]) -> Holdings:
    authority: Authority = request.app.state.authority
    query = read_query(request, PointInTimeQuery)
    return await compliance.point_in_time(authority, auditor, query)
