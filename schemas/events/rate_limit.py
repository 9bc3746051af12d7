"""Events of `rate_limit` streams: a caller went over a rate limit (DECISIONS 20).

One event per key, window and API process: the first refused request of a window is
recorded, later ones are only counted, and the count travels in the key's next event. A flood
therefore adds a handful of events a minute, never one per request. The key is in the
metadata: `client_id` for the `client` limit, `ip` for the others.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from schemas.events.base import EventBase

__all__ = ["RateLimitEvent", "RateLimitExceeded", "RateLimitName"]

# client: requests of one authenticated client at the token, introspection and revocation
# endpoints; source: requests from one address there; client_auth: failed client
# authentications from one address; login: credentials submitted from one address (the sign-in
# pages and the password grant); page: the authorization and account pages from one address.
RateLimitName = Literal["client", "source", "client_auth", "login", "page"]


class RateLimitExceeded(EventBase, frozen=True, kw_only=True):
    limit: RateLimitName
    # What this process allowed: its share of the configured limit.
    per_second: float
    burst: int
    window_started_at: datetime
    window_s: int
    # The key's previous window with refusals (as remembered by this process), and how many
    # requests were refused in it: the count its own event could not yet know.
    previous_window_started_at: datetime | None = None
    previous_refused: int = 0


RateLimitEvent = RateLimitExceeded
