"""Clients, inline: registration, current secrets and status, for client authentication."""

from __future__ import annotations

from typing import Final

from projections.projection import Projection, Statement, load_ddl
from schemas.envelope import RecordedEvent
from schemas.events import (
    ClientBanned,
    ClientRegistered,
    ClientReinstated,
    ClientSecretRotated,
    ClientSuspended,
    encode_event,
    to_snake_case,
)

__all__ = ["NAME", "PROJECTION", "statements"]

NAME: Final = "clients"

_REGISTER: Final = """
INSERT INTO clients (client_id, status, registration, secret_digest, workspace_id, registered_at)
VALUES ($1, 'active', $2, $3, $4, $5)
"""
_ROTATE: Final = """
UPDATE clients SET previous_secret_digest = secret_digest, secret_digest = $2,
                   previous_valid_until = $3
WHERE client_id = $1
"""
_STATUS: Final = "UPDATE clients SET status = $2 WHERE client_id = $1 AND status <> 'banned'"


def statements(recorded: RecordedEvent) -> list[Statement]:
    event = recorded.event
    match event:
        case ClientRegistered():
            return [
                Statement(
                    _REGISTER,
                    (
                        event.client_id,
                        encode_event(event),
                        event.secret_digest,
                        event.workspace_id,
                        recorded.occurred_at,
                    ),
                )
            ]
        case ClientSecretRotated():
            args = (event.client_id, event.secret_digest, event.previous_valid_until)
            return [Statement(_ROTATE, args)]
        case ClientSuspended(client_id=client_id):
            return [Statement(_STATUS, (client_id, "suspended"))]
        case ClientReinstated(client_id=client_id):
            return [Statement(_STATUS, (client_id, "active"))]
        case ClientBanned(client_id=client_id):
            return [Statement(_STATUS, (client_id, "banned"))]
        case _:
            return []


PROJECTION: Final = Projection(
    name=NAME,
    handles=frozenset(
        to_snake_case(cls.__name__)
        for cls in (
            ClientRegistered,
            ClientSecretRotated,
            ClientSuspended,
            ClientReinstated,
            ClientBanned,
        )
    ),
    tables=("clients",),
    ddl=load_ddl(NAME),
    statements=statements,
    inline=True,
)
