"""Single sign-on, inline: each workspace's provider and domains, and the linked identities."""

from __future__ import annotations

from typing import Final

from projections.projection import Projection, Statement, load_ddl
from schemas.envelope import RecordedEvent
from schemas.events import (
    SsoConfigured,
    SsoDisabled,
    SsoIdentityLinked,
    SsoUserProvisioned,
    UserErased,
    encode_event,
    to_snake_case,
)
from schemas.personal_data import REDACTED

__all__ = ["IDENTITY_TAKEN", "NAME", "PROJECTION", "UNIQUE_DOMAIN", "statements"]

NAME: Final = "sso"
# The constraints a second claim breaks: a domain of another workspace, an identity linked.
UNIQUE_DOMAIN: Final = "sso_domains_pkey"
IDENTITY_TAKEN: Final = "sso_identities_pkey"

_CONFIGURE: Final = """
INSERT INTO sso_configs (workspace_id, configuration, required, configured_at)
VALUES ($1, $2, $3, $4)
ON CONFLICT (workspace_id) DO UPDATE
SET configuration = $2, required = $3, configured_at = $4, disabled_at = NULL
"""
_DISABLE: Final = """
UPDATE sso_configs SET required = false, disabled_at = $2 WHERE workspace_id = $1
"""
_FORGET_DOMAINS: Final = "DELETE FROM sso_domains WHERE workspace_id = $1"
_DOMAIN: Final = "INSERT INTO sso_domains (domain, workspace_id) VALUES ($1, $2)"
_IDENTITY: Final = """
INSERT INTO sso_identities (issuer, subject, user_id, workspace_id, linked_at)
VALUES ($1, $2, $3, $4, $5)
"""
# An erased person is reached by no identity any more (a new sign-in makes a new account).
_FORGET_IDENTITIES: Final = "DELETE FROM sso_identities WHERE user_id = $1"


def statements(recorded: RecordedEvent) -> list[Statement]:
    event, at = recorded.event, recorded.occurred_at
    match event:
        case SsoConfigured(workspace_id=workspace):
            configure = Statement(_CONFIGURE, (workspace, encode_event(event), event.required, at))
            domains = [Statement(_DOMAIN, (domain, workspace)) for domain in event.allowed_domains]
            return [configure, Statement(_FORGET_DOMAINS, (workspace,)), *domains]
        case SsoDisabled(workspace_id=workspace):
            return [Statement(_DISABLE, (workspace, at)), Statement(_FORGET_DOMAINS, (workspace,))]
        case SsoUserProvisioned(subject=subject) | SsoIdentityLinked(subject=subject) if (
            subject == REDACTED
        ):
            return []  # a rebuild after the person was erased: nothing to link
        case SsoUserProvisioned() | SsoIdentityLinked():
            args = (event.issuer, event.subject, event.user_id, event.workspace_id, at)
            return [Statement(_IDENTITY, args)]
        case UserErased(user_id=user_id):
            return [Statement(_FORGET_IDENTITIES, (user_id,))]
        case _:
            return []


PROJECTION: Final = Projection(
    name=NAME,
    handles=frozenset(
        to_snake_case(cls.__name__)
        for cls in (SsoConfigured, SsoDisabled, SsoUserProvisioned, SsoIdentityLinked, UserErased)
    ),
    tables=("sso_identities", "sso_domains", "sso_configs"),
    ddl=load_ddl(NAME),
    statements=statements,
    inline=True,
)
