"""The audit API under `/audit`, for compliance teams: bearer tokens with `audit:read` only.

Every route depends on `auditor` (auth.py), and every answer is recorded as an
`audit_trail_read` event before it is sent (services/compliance.py). Nothing is cached.
"""

from __future__ import annotations

from litestar import Router
from litestar.datastructures import CacheControlHeader
from litestar.di import Provide

from services.api.audit import point_in_time, trail
from services.api.audit.auth import audit_caller

__all__ = ["audit_router"]


def audit_router() -> Router:
    return Router(
        path="/audit",
        route_handlers=[
            trail.list_audit_events,
            trail.user_timeline,
            trail.export_audit_trail,
            point_in_time.held_at,
        ],
        dependencies={"auditor": Provide(audit_caller)},
        cache_control=CacheControlHeader(no_store=True),
    )
