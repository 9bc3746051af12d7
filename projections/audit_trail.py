"""The audit trail: one immutable row per action, for compliance investigations."""

from __future__ import annotations

from typing import Final, assert_never

from projections.projection import Projection, Statement, load_ddl
from schemas.envelope import RecordedEvent
from schemas.events import (
    EVENT_TYPES,
    AccessTokenIssued,
    ClientBanned,
    ClientRegistered,
    ClientReinstated,
    ClientSecretRotated,
    ClientSuspended,
    Event,
    TokenFamilyRevoked,
    to_snake_case,
)

__all__ = ["PROJECTION", "resource_of"]

NAME: Final = "audit_trail"

_INSERT: Final = """
INSERT INTO audit_trail (global_position, event_id, occurred_at, stream_id, action, outcome,
    reason, actor, actor_id, subject_user, workspace_id, client_id, resource, ip, user_agent,
    request_id, correlation_id, hash)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18)
"""


def resource_of(event: Event) -> str | None:
    """What the action was about, in a form an investigator can search for."""
    match event:
        case AccessTokenIssued(jti=jti):
            return f"token:{jti}"
        case ClientRegistered(client_id=client_id) | ClientSuspended(client_id=client_id):
            return f"client:{client_id}"
        case ClientReinstated(client_id=client_id) | ClientBanned(client_id=client_id):
            return f"client:{client_id}"
        case ClientSecretRotated(client_id=client_id):
            return f"client:{client_id}"
        case TokenFamilyRevoked():
            return None
        case _:
            assert_never(event)


def statements(recorded: RecordedEvent) -> list[Statement]:
    meta = recorded.metadata
    return [
        Statement(
            _INSERT,
            (
                recorded.global_position,
                recorded.event_id,
                recorded.occurred_at,
                recorded.stream_id,
                recorded.event_type,
                "success",
                None,
                meta.actor,
                meta.actor_id,
                meta.subject_user,
                meta.workspace_id,
                meta.client_id,
                resource_of(recorded.event),
                meta.ip,
                meta.user_agent,
                meta.request_id,
                meta.correlation_id,
                recorded.hash,
            ),
        )
    ]


PROJECTION: Final = Projection(
    name=NAME,
    handles=frozenset(to_snake_case(cls.__name__) for cls in EVENT_TYPES),
    tables=("audit_trail",),
    ddl=load_ddl(NAME),
    statements=statements,
)
