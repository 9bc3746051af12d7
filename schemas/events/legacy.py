"""Superseded event versions, kept verbatim so old rows still decode. Never edited or deleted."""

from __future__ import annotations

__all__: list[str] = []
