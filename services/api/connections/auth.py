"""Who calls the connection routes: a user's live access token holding the `connections`
scope (RFC 6750); what they may do with a workspace's connections is their role's business."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final

import msgspec
from litestar import Request

from schemas.envelope import Metadata
from services.api.bearer import live_access_token
from services.api.oauth.endpoint import request_metadata
from services.connections.connector import Connector
from services.refusals import Refused

__all__ = ["CONNECTIONS_SCOPE", "Owner", "connector_of", "owner_caller"]

CONNECTIONS_SCOPE: Final = "connections"


@dataclass(frozen=True, slots=True)
class Owner:
    """The authenticated user, and the metadata their connection events carry."""

    user_id: str
    metadata: Metadata


def connector_of(request: Request[Any, Any, Any]) -> Connector:
    connector: Connector = request.app.state.connector
    return connector


async def owner_caller(request: Request[Any, Any, Any]) -> Owner:
    """The `owner` dependency of the connection routes (RFC 6750 section 3.1 errors)."""
    record = await live_access_token(request, scope=CONNECTIONS_SCOPE)
    if record.subject is None:
        raise Refused("invalid_token", "the access token acts for no user")
    metadata = msgspec.structs.replace(
        request_metadata(request, record.client_id, "user"),
        actor_id=record.subject,
        subject_user=record.subject,
    )
    return Owner(user_id=record.subject, metadata=metadata)
