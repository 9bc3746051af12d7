"""Events of the `vault_key` stream: the keys upstream tokens are encrypted under.

The key itself is sealed under the master key in `vault_keys`; the log says only which key
came and when one was retired, after every token had been encrypted again under its successor.
"""

from __future__ import annotations

from schemas.events.base import EventBase

__all__ = ["VaultKeyCreated", "VaultKeyEvent", "VaultKeyRetired"]


class VaultKeyCreated(EventBase, frozen=True, kw_only=True):
    kid: str


class VaultKeyRetired(EventBase, frozen=True, kw_only=True):
    kid: str
    # Tokens encrypted again under the successor before this key was destroyed.
    reencrypted: int
    successor: str


VaultKeyEvent = VaultKeyCreated | VaultKeyRetired
