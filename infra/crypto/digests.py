"""Opaque tokens and what is stored in their place: SHA-256 digests, keyed secret digests."""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from collections.abc import Iterable

from schemas.events import Digest

__all__ = ["SecretHasher", "new_token", "token_digest"]

_TOKEN_BYTES = 32  # 256 bits: far beyond guessing, and the digest needs no salt or stretching.


def new_token(prefix: str) -> str:
    """A fresh bearer secret: `prefix` (so secret scanners can spot a leak) + 43 base64url chars."""
    body = base64.urlsafe_b64encode(secrets.token_bytes(_TOKEN_BYTES)).rstrip(b"=")
    return prefix + body.decode("ascii")


def token_digest(token: str) -> Digest:
    """Hex SHA-256 of a high-entropy token: how refresh/access tokens and codes are stored."""
    return Digest(hashlib.sha256(token.encode("utf-8")).hexdigest())


class SecretHasher:
    """Keyed digests of client secrets: generated secrets are high-entropy, so a fast HMAC suffices,
    and the key means a leaked table cannot even be checked offline against guesses."""

    __slots__ = ("_key",)

    def __init__(self, key: bytes) -> None:
        self._key = key

    def digest(self, secret: str) -> Digest:
        # hmac.digest is the one-shot C path: a fifth of what an hmac.HMAC object costs.
        return Digest(hmac.digest(self._key, secret.encode("utf-8"), "sha256").hex())

    def verify(self, secret: str, digests: Iterable[Digest]) -> bool:
        """True if `secret` matches any candidate (several while a rotated secret is in grace)."""
        expected = self.digest(secret).encode("ascii")
        matched = False
        # Every candidate is compared, with no early exit, so timing does not reveal which matched.
        for candidate in digests:
            matched |= hmac.compare_digest(expected, candidate.encode("utf-8"))
        return matched
