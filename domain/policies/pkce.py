"""PKCE, S256 only (RFC 7636, https://www.rfc-editor.org/rfc/rfc7636#section-4).

The `plain` method is refused: it protects nothing against an attacker who can read the
authorization request, so only `S256` challenges are accepted.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re

__all__ = ["METHOD", "challenge_s256", "valid_challenge", "valid_verifier", "verify"]

METHOD = "S256"

# RFC 7636 section 4.1: 43..128 characters of [A-Z] / [a-z] / [0-9] / "-" / "." / "_" / "~".
# Explicit ASCII classes, because `\d` and `\w` would also match non-ASCII digits and letters.
_VERIFIER = re.compile(r"[A-Za-z0-9\-._~]{43,128}")
# BASE64URL of a 32-byte digest without padding is 43 characters. Its last character carries
# only 4 bits of the digest and 2 zero bits, so only these 16 values can end a real challenge.
_CHALLENGE = re.compile(r"[A-Za-z0-9\-_]{42}[AEIMQUYcgkosw048]")


def challenge_s256(verifier: str) -> str:
    """BASE64URL(SHA256(ASCII(verifier))) without padding (RFC 7636 section 4.2)."""
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).decode("ascii").rstrip("=")


def valid_verifier(verifier: str) -> bool:
    """Whether `verifier` is 43..128 unreserved characters (RFC 7636 section 4.1)."""
    return _VERIFIER.fullmatch(verifier) is not None


def valid_challenge(challenge: str, method: str | None) -> bool:
    """Whether an authorization request's challenge is acceptable (RFC 7636 section 4.3).

    The method must be given and be exactly `S256`: a missing method means `plain` in the
    RFC, and `plain` is refused.
    """
    return method == METHOD and _CHALLENGE.fullmatch(challenge) is not None


def verify(verifier: str, challenge: str) -> bool:
    """Whether `verifier` is well formed and hashes to `challenge` (RFC 7636 section 4.6)."""
    if not valid_verifier(verifier):
        return False
    # Compared as bytes: `compare_digest` refuses non-ASCII `str`, and a stored challenge
    # is attacker-chosen input.
    expected = challenge_s256(verifier).encode("ascii")
    return hmac.compare_digest(expected, challenge.encode("utf-8"))
