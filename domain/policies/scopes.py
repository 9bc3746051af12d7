"""Scope strings and what a client may be granted (RFC 6749 section 3.3)."""

from __future__ import annotations

import re
from collections.abc import Iterable

__all__ = ["format_scope", "granted", "parse_scope"]

# scope-token = 1*( %x21 / %x23-5B / %x5D-7E ): printable ASCII except space, `"` and `\`.
_SCOPE_TOKEN = re.compile(r"[\x21\x23-\x5b\x5d-\x7e]+")


def parse_scope(value: str | None) -> tuple[str, ...] | None:
    """Space-delimited scope tokens, deduplicated in first-seen order; None if malformed."""
    if value is None or value == "":
        return ()
    tokens = value.split(" ")
    if any(not _SCOPE_TOKEN.fullmatch(token) for token in tokens):
        return None  # empty tokens (double spaces) and forbidden characters alike
    return tuple(dict.fromkeys(tokens))


def format_scope(scopes: Iterable[str]) -> str:
    return " ".join(scopes)


def granted(
    requested: tuple[str, ...], allowed: tuple[str, ...], default: tuple[str, ...] | None = None
) -> tuple[str, ...] | None:
    """The scopes to grant: the request if the client may hold all of it, else None.

    An empty request gets the client's default (all it may hold, unless a default is set),
    as section 3.3 lets the server decide.
    """
    if not requested:
        return allowed if default is None else default
    allowed_set = set(allowed)
    return requested if all(scope in allowed_set for scope in requested) else None
