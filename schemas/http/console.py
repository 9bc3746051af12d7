"""The web console's wire shapes: the role answer of `keyledger console`, and the pages' forms
and queries as the OpenAPI document describes them (the pages read them by hand)."""

from __future__ import annotations

from typing import Literal

import msgspec

from schemas.events.console_role import ConsoleRole

__all__ = [
    "ClientActionForm",
    "ConsoleForm",
    "ConsoleRoles",
    "HeldAtQuery",
    "SearchQuery",
]


class ConsoleRoles(msgspec.Struct, frozen=True, kw_only=True):
    """`keyledger console grant|revoke|roles --json`: the user's roles after the command."""

    user_id: str
    username: str
    roles: tuple[ConsoleRole, ...]
    # Whether the command changed anything (granting a held role does not).
    changed: bool = False


class ConsoleForm(msgspec.Struct, frozen=True, kw_only=True):
    """Every console POST: the CSRF token bound to the browser and the signed-in user."""

    csrf: str


class ClientActionForm(ConsoleForm, frozen=True, kw_only=True):
    """`POST /console/clients/{id}/...`: why, recorded in the event."""

    reason: str


class SearchQuery(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """`GET /console/audit` (and its timeline, chart and exports): the audit API's filters.

    `user` is a username or a user id; `from` and `to` without an offset are UTC.
    """

    user: str | None = None
    client: str | None = None
    action: str | None = None
    outcome: Literal["success", "failure"] | None = None
    ip: str | None = None
    from_: str | None = msgspec.field(default=None, name="from")
    to: str | None = None
    cursor: str | None = None
    format: Literal["ndjson", "csv"] | None = None


class HeldAtQuery(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """`GET /console/audit/at`: a user (username or id) and an instant."""

    user: str | None = None
    at: str | None = None
