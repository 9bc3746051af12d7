"""A secret held in memory: it never prints, never encodes, and compares in constant time."""

from __future__ import annotations

import hmac
from typing import Final

__all__ = ["Secret"]

_SHOWN: Final = "Secret('[redacted]')"


class Secret:
    """Plaintext that must be recovered (an upstream token): `reveal()` is the one way in.

    msgspec refuses to encode it and `repr`/`str` hide it, so it cannot slip into an event,
    a response body or a log line by accident.
    """

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return _SHOWN

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Secret):
            return NotImplemented
        return hmac.compare_digest(self._value.encode(), other._value.encode())

    def __hash__(self) -> int:
        raise TypeError("a Secret is not hashable: it would be compared by its value")
