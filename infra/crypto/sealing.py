"""AES-256-GCM sealing for secrets that must be recovered (TOTP seeds), with key rotation."""

from __future__ import annotations

import base64
import binascii
import os
import re
from collections.abc import Mapping

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from schemas.events import Sealed

__all__ = ["SealError", "Sealer"]

_VERSION = "v1"
_KEY_BYTES = 32
_NONCE_BYTES = 12  # Random 96-bit nonces: safe for far more seals than one key will ever make.
_TAG_BYTES = 16
_KID = re.compile(r"[A-Za-z0-9_-]+")
_BODY = re.compile(r"[A-Za-z0-9_-]+")


class SealError(Exception):
    """A sealed value that cannot be opened: unknown key id, bad format or failed authentication."""


class Sealer:
    """Seals with the `current` key, opens with any listed one: old values survive rotation."""

    __slots__ = ("_aeads", "_current")

    def __init__(self, keys: Mapping[str, bytes], current: str) -> None:
        if current not in keys:
            raise ValueError(f"current sealing key {current!r} is not among the keys")
        for kid, key in keys.items():
            if not _KID.fullmatch(kid):
                raise ValueError(f"sealing key id {kid!r} must be base64url characters only")
            if len(key) != _KEY_BYTES:
                raise ValueError(f"sealing key {kid!r} must be {_KEY_BYTES} bytes, not {len(key)}")
        self._aeads = {kid: AESGCM(key) for kid, key in keys.items()}
        self._current = current

    def seal(self, plaintext: bytes, *, context: str) -> Sealed:
        """`context` (e.g. "totp:<user_id>") is authenticated, so the value cannot move records."""
        nonce = os.urandom(_NONCE_BYTES)
        body = nonce + self._aeads[self._current].encrypt(nonce, plaintext, context.encode("utf-8"))
        encoded = base64.urlsafe_b64encode(body).rstrip(b"=").decode("ascii")
        return Sealed(f"{_VERSION}.{self._current}.{encoded}")

    def open(self, sealed: Sealed, *, context: str) -> bytes:
        parts = sealed.split(".")
        if len(parts) != 3 or parts[0] != _VERSION or not _BODY.fullmatch(parts[2]):
            raise SealError("not a v1 sealed value")
        aead = self._aeads.get(parts[1])
        if aead is None:
            raise SealError(f"unknown sealing key id {parts[1]!r}")
        try:
            body = base64.urlsafe_b64decode(parts[2] + "=" * (-len(parts[2]) % 4))
        except (binascii.Error, ValueError) as error:
            raise SealError("sealed value is not base64url") from error
        if len(body) < _NONCE_BYTES + _TAG_BYTES:
            raise SealError("sealed value is too short")
        try:
            return aead.decrypt(body[:_NONCE_BYTES], body[_NONCE_BYTES:], context.encode("utf-8"))
        except InvalidTag as error:
            raise SealError("sealed value failed authentication (wrong key or context)") from error
