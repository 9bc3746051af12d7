"""Superseded event versions, kept verbatim so that old rows still decode. Never edit, never delete."""

from __future__ import annotations

__all__: list[str] = []
