"""Providers, inline: registration and refresh policy, for connecting and the scheduler."""

from __future__ import annotations

from typing import Final

from projections.projection import Projection, Statement, load_ddl
from schemas.envelope import RecordedEvent
from schemas.events import ProviderRegistered, ProviderRemoved, encode_event, to_snake_case

__all__ = ["NAME", "PROJECTION", "UNIQUE_NAME", "statements"]

NAME: Final = "providers"
# The constraint a second provider of the same name breaks (the registration is refused).
UNIQUE_NAME: Final = "providers_name_key"

_REGISTER: Final = """
INSERT INTO providers (provider_id, name, workspace_id, registration, refresh_margin_s,
                       max_token_age_s, health_check_interval_s, can_check, registered_at)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
"""
_REMOVE: Final = "UPDATE providers SET removed_at = $2 WHERE provider_id = $1"


def statements(recorded: RecordedEvent) -> list[Statement]:
    event = recorded.event
    match event:
        case ProviderRegistered():
            can_check = (
                event.introspection_endpoint is not None or event.userinfo_endpoint is not None
            )
            args = (
                event.provider_id, event.name, event.workspace_id, encode_event(event),
                event.refresh_margin_s, event.max_token_age_s, event.health_check_interval_s,
                can_check, recorded.occurred_at,
            )  # fmt: skip
            return [Statement(_REGISTER, args)]
        case ProviderRemoved(provider_id=provider_id):
            return [Statement(_REMOVE, (provider_id, recorded.occurred_at))]
        case _:
            return []


PROJECTION: Final = Projection(
    name=NAME,
    handles=frozenset(to_snake_case(cls.__name__) for cls in (ProviderRegistered, ProviderRemoved)),
    tables=("providers",),
    ddl=load_ddl(NAME),
    statements=statements,
    inline=True,
)
