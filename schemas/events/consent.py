"""Events of the `consent` stream: what a user allowed one client, one stream per pair."""

from __future__ import annotations

from schemas.events.base import EventBase

__all__ = ["ConsentEvent", "ConsentGranted", "ConsentWithdrawn"]


class ConsentGranted(EventBase, frozen=True, kw_only=True):
    user_id: str
    client_id: str
    # Everything consented so far (a wider grant includes the earlier scopes).
    scopes: tuple[str, ...]


class ConsentWithdrawn(EventBase, frozen=True, kw_only=True):
    """Every token of this user for this client stops working."""

    user_id: str
    client_id: str


ConsentEvent = ConsentGranted | ConsentWithdrawn
