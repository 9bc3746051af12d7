"""A request refused for a reason the caller may know: the seeds' precise error codes."""

from __future__ import annotations

from typing import Literal

__all__ = ["Reason", "Refused"]

Reason = Literal[
    "invalid_request",
    "request_too_large",
    "invalid_client",
    "invalid_redirect_uri",
    "invalid_grant",
    "invalid_code",
    "pkce_mismatch",
    "invalid_credentials",
    "too_many_attempts",
    "too_many_requests",
    "password_expired",
    "otp_required",
    "sso_required",
    "invalid_scope",
    "unauthorized_client",
    "unsupported_grant_type",
    "unsupported_token_type",
    "access_denied",
    "invalid_token",
    "insufficient_scope",
    "not_found",
    "conflict",
    "temporarily_unavailable",
]


class Refused(Exception):
    """Raised by services for an outcome the API translates (services/api/errors.py)."""

    def __init__(
        self,
        reason: Reason,
        description: str,
        *,
        retry_after: int | None = None,
        subject: str | None = None,
    ) -> None:
        super().__init__(description)
        self.reason: Reason = reason
        self.description = description
        self.retry_after = retry_after
        # The user the refused request was about, if known: it goes in the audit trail.
        self.subject = subject
