"""The shape of an operation's entry in the OpenAPI table (operations.py)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Final

__all__ = ["FORM", "HTML", "JSON", "PAGE", "REDIRECT", "Answer", "Operation", "Requirement"]

JSON: Final = "application/json"
FORM: Final = "application/x-www-form-urlencoded"
HTML: Final = "text/html"

# One security requirement: scheme name -> scopes (OpenAPI 3.1 section 4.8.30).
Requirement = Mapping[str, tuple[str, ...]]


@dataclass(frozen=True, slots=True)
class Answer:
    """A success answer: its body's type (None: no body) and media type, required headers."""

    description: str
    body: Any = None
    media: tuple[str, ...] = (JSON,)
    headers: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Operation:
    """What one method on one path takes and answers.

    `answers` replaces the success answers Litestar derived from the handler's annotation;
    `errors` are the statuses of its refusals; `page` operations answer HTML, also their
    refusals (a request the server cannot read at all still gets the JSON error shape).
    `raw` operations are ASGI routes, absent from Litestar's document.
    """

    summary: str
    security: tuple[Requirement, ...] = ()
    body: Any = None
    media: tuple[str, ...] = (JSON,)
    body_required: bool = True
    query: type | None = None
    headers: Mapping[str, str] = field(default_factory=dict)
    cookies: tuple[str, ...] = ()
    answers: Mapping[int, Answer] = field(default_factory=dict)
    errors: tuple[int, ...] = ()
    page: bool = False
    raw: bool = False


PAGE: Final = Answer("the page", media=(HTML,))
REDIRECT: Final = Answer("a redirect (303 See Other)", headers=("Location",))
