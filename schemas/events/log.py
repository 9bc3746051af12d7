"""Events of `log` streams: what happened to the log itself, such as a range archived.

The log never forgets that part of it left the database: each archived partition is recorded
here (kept forever), so `audit verify` can say which archive file a range must come from.
"""

from __future__ import annotations

from datetime import datetime

from schemas.events.base import EventBase

__all__ = ["LogEvent", "LogRangeArchived"]


class LogRangeArchived(EventBase, frozen=True, kw_only=True):
    """The events at positions [lower, upper) of the short-lived streams were exported to
    `archive`, checked against the database, and their partition dropped."""

    partition: str
    lower: int
    upper: int
    events: int
    # SHA-256 (hex) over the archived events' hashes in log order, as the database computed it.
    digest: str
    archive: str
    before: datetime


LogEvent = LogRangeArchived
