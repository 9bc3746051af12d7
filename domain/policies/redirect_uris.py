"""Redirect URIs: what may be registered, and exact matching (RFC 6749 3.1.2, RFC 9700 4.1)."""

from __future__ import annotations

import hmac
from urllib.parse import urlsplit

__all__ = ["matches_registered", "registrable"]

_LOOPBACK = frozenset({"127.0.0.1", "::1", "localhost"})


def registrable(uri: str) -> bool:
    """Absolute, no fragment, no credentials; https, or http on loopback (native apps)."""
    try:
        parts = urlsplit(uri)
    except ValueError:
        return False
    if parts.fragment or "#" in uri or parts.username is not None or parts.password is not None:
        return False
    if any(ch.isspace() or ord(ch) < 0x20 for ch in uri):
        return False
    if parts.scheme == "https":
        return bool(parts.hostname)
    if parts.scheme == "http":
        return parts.hostname in _LOOPBACK
    return False


def matches_registered(uri: str, registered: tuple[str, ...]) -> bool:
    """Exact string comparison against every registered URI: no prefix or pattern matching."""
    presented = uri.encode()
    found = False
    for candidate in registered:
        found |= hmac.compare_digest(presented, candidate.encode())
    return found
