"""The base every stored event derives from: frozen, keyword-only, tagged by snake_case name."""

from __future__ import annotations

import re
from typing import ClassVar, NewType

import msgspec

__all__ = ["Digest", "EventBase", "Jti", "PasswordHash", "Sealed", "to_snake_case"]

# What may be stored: a hex SHA-256 digest of a secret, never the secret itself.
Digest = NewType("Digest", str)
# An argon2id PHC string (salted, slow): what a user's password is stored as.
PasswordHash = NewType("PasswordHash", str)
# AES-256-GCM ciphertext with its key id, for secrets that must be recovered (TOTP seeds).
Sealed = NewType("Sealed", str)
# A token's public identifier (RFC 7519 `jti`); safe to store and publish.
Jti = NewType("Jti", str)

_CAMEL_BOUNDARY = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")


def to_snake_case(name: str) -> str:
    """`RefreshTokenRotated` -> `refresh_token_rotated`; the tag is the stable event type."""
    return _CAMEL_BOUNDARY.sub("_", name).lower()


class EventBase(msgspec.Struct, frozen=True, kw_only=True, tag_field="type", tag=to_snake_case):
    """A fact that happened. Payload only: who/where/which request lives in Metadata."""

    # Bumped when the meaning or shape of an event changes; old rows are upcast on read.
    schema_version: ClassVar[int] = 1
