"""Events of `incident` streams: access a user reported as not theirs, from the account page.

The report is a fact on a fresh stream of its own; what it revoked is the family or the
user's revocation event beside it (the same commit is not needed: the revocation comes
first, so a report on the record always had its tokens cut).
"""

from __future__ import annotations

from typing import Literal

from schemas.events.base import EventBase

__all__ = ["AccessReported", "IncidentEvent", "ReportedAccess"]

# `session`: one application's token family; `sign_in`: a sign-in to the account, so every
# token of the user is revoked (the password may be known to someone else).
ReportedAccess = Literal["session", "sign_in"]


class AccessReported(EventBase, frozen=True, kw_only=True):
    user_id: str
    kind: ReportedAccess
    # The family id of a session, the event id of a sign-in.
    reference: str
    client_id: str | None = None


IncidentEvent = AccessReported
