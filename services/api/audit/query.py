"""Audit API query strings: decoded into one Struct, or refused as `invalid_request`."""

from __future__ import annotations

from typing import Any, TypeVar

import msgspec
from litestar import Request

from infra.logging import looks_secret
from schemas.http.audit import Text
from services.refusals import Refused

__all__ = ["path_text", "read_query"]

T = TypeVar("T")


def _refusal(error: msgspec.ValidationError) -> Refused:
    message = str(error).replace("`$.", "`").replace("Object contains unknown field", "unknown")
    return Refused("invalid_request", message.replace("Object missing required field", "missing"))


def _no_credential(name: str, value: str) -> None:
    """Filters are recorded in the read's event: a credential pasted by mistake is refused
    rather than written to the log in clear."""
    if looks_secret(value):
        raise Refused("invalid_request", f"{name} looks like a credential; never send one")


def read_query(request: Request[Any, Any, Any], into: type[T]) -> T:
    """The query parameters as `into`; a repeated or unknown parameter is refused."""
    values: dict[str, str] = {}
    for name, value in request.query_params.multi_items():
        if name in values:
            raise Refused("invalid_request", f"parameter {name} is repeated")
        _no_credential(name, value)
        values[name] = value
    try:
        return msgspec.convert(values, into, strict=False)
    except msgspec.ValidationError as error:
        raise _refusal(error) from None


def path_text(value: str, name: str) -> str:
    """A path segment held to the same bounds as a filter value."""
    try:
        checked: str = msgspec.convert(value, Text)
    except msgspec.ValidationError:
        raise Refused("invalid_request", f"{name} is not a valid identifier") from None
    _no_credential(name, checked)
    return checked
