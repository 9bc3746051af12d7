"""Upstream tokens encrypted at rest: AES-256-GCM under vault keys that carry a key id.

https://csrc.nist.gov/pubs/sp/800/38/d/final (GCM). Each ciphertext names its key (`kid`) and
is bound, as associated data, to its connection and its kind (access or refresh): a
ciphertext copied onto another connection or swapped between kinds fails to open. The vault
keys themselves are random, and sealed under the master key wherever they are stored.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Final, Literal

from infra.crypto.sealing import Sealer
from infra.crypto.secret import Secret
from schemas.events import Sealed

__all__ = ["VAULT_KEY_BYTES", "TokenKind", "VaultKeys", "key_context", "new_vault_key"]

VAULT_KEY_BYTES: Final = 32
TokenKind = Literal["access", "refresh"]


def new_vault_key() -> bytes:
    return os.urandom(VAULT_KEY_BYTES)


def key_context(kid: str) -> str:
    """What a vault key is sealed under the master key with: it cannot pass for another key."""
    return f"vault_key:{kid}"


def _token_context(connection_id: str, kind: TokenKind) -> str:
    return f"upstream_token:{kind}:{connection_id}"


class VaultKeys:
    """Encrypts under the current key, decrypts under any key still held."""

    __slots__ = ("_sealer", "current")

    def __init__(self, keys: Mapping[str, bytes], current: str) -> None:
        self._sealer = Sealer(keys, current)
        self.current = current

    def encrypt(self, token: Secret, *, connection_id: str, kind: TokenKind) -> Sealed:
        return self._sealer.seal(
            token.reveal().encode("utf-8"), context=_token_context(connection_id, kind)
        )

    def decrypt(self, sealed: Sealed, *, connection_id: str, kind: TokenKind) -> Secret:
        """SealError if the key is not held or the ciphertext is not this connection's `kind`."""
        plaintext = self._sealer.open(sealed, context=_token_context(connection_id, kind))
        return Secret(plaintext.decode("utf-8"))
