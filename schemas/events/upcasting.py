"""Decoding stored events: the current version directly, older versions through upcasters."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import msgspec

__all__ = ["UnknownEventVersion", "Upcaster", "upcast"]

# Decodes the bytes of one old (event_type, schema_version) into the current event class.
Upcaster = Callable[[bytes], Any]

# (event_type, schema_version) -> upcaster. Each entry decodes the legacy class from
# `legacy.py` and walks the typed `vN_to_vN+1` functions up to the current version.
UPCASTERS: Mapping[tuple[str, int], Upcaster] = {}


class UnknownEventVersion(msgspec.DecodeError):
    """A stored event whose (type, version) neither the current schema nor an upcaster knows."""


def upcast(event_type: str, schema_version: int, data: bytes) -> Any:
    try:
        upcaster = UPCASTERS[(event_type, schema_version)]
    except KeyError:
        raise UnknownEventVersion(f"no upcaster for {event_type} v{schema_version}") from None
    return upcaster(data)
