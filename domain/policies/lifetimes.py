"""How long tokens live, and the longest any client may make them (DESIGN.md, OAuth surface).

The maxima bound how long anything a revocation covers can still be presented, so they are
also how long a revocation must be remembered downstream.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Final

__all__ = [
    "CLIENT_RECORD_TTL",
    "MAX_ACCESS_TOKEN_TTL",
    "MAX_REFRESH_TOKEN_TTL",
    "MIN_TOKEN_TTL",
    "access_token_ttl_problem",
    "refresh_token_ttl_problem",
]

MIN_TOKEN_TTL: Final = timedelta(seconds=60)
# A retired signing key stays in the JWKS this long too: no token outlives it.
MAX_ACCESS_TOKEN_TTL: Final = timedelta(hours=24)
MAX_REFRESH_TOKEN_TTL: Final = timedelta(days=365)
# How long an API process may act on a client record it read (DECISIONS.md 12): a suspension
# also covers the tokens handed out that long after it.
CLIENT_RECORD_TTL: Final = timedelta(seconds=2)


def access_token_ttl_problem(seconds: int) -> str | None:
    if MIN_TOKEN_TTL.total_seconds() <= seconds <= MAX_ACCESS_TOKEN_TTL.total_seconds():
        return None
    return "access token lifetime must be between 60 s and 24 h"


def refresh_token_ttl_problem(seconds: int) -> str | None:
    if MIN_TOKEN_TTL.total_seconds() <= seconds <= MAX_REFRESH_TOKEN_TTL.total_seconds():
        return None
    return "refresh token lifetime must be between 60 s and 365 days"
