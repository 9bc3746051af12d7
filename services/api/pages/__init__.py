"""HTML pages for end users: the authorization endpoint's login and consent (RFC 6749 4.1),
and the account page where they disconnect applications."""

from __future__ import annotations

__all__: list[str] = []
