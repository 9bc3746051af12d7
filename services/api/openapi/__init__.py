"""The OpenAPI document at `/schema/openapi.json`: every operation, complete and truthful."""

from __future__ import annotations

from importlib.metadata import version
from typing import Any

import msgspec
from litestar import Litestar, Request
from litestar.openapi import OpenAPIConfig
from litestar.openapi.plugins import JsonRenderPlugin

from services.api.openapi.document import complete

__all__ = ["openapi_config", "openapi_document"]


def openapi_document(app: Litestar) -> dict[str, Any]:
    """The document the app serves."""
    return complete(app.openapi_schema.to_schema())


class _CompleteJson(JsonRenderPlugin):
    """Litestar's JSON rendering of the completed document, encoded once."""

    def __init__(self) -> None:
        super().__init__()
        self._encoded: bytes | None = None

    def render(self, request: Request[Any, Any, Any], openapi_schema: dict[str, Any]) -> bytes:
        if self._encoded is None:
            self._encoded = msgspec.json.encode(complete(openapi_schema))
        return self._encoded


def openapi_config() -> OpenAPIConfig:
    return OpenAPIConfig(
        title="keyledger",
        version=version("keyledger"),
        description="An event-sourced OAuth 2.0 / OpenID Connect authorization server. Errors"
        ' are `{"error", "error_description", "error_code"}`: `error` is the RFC code,'
        " `error_code` the precise reason.",
        path="/schema",
        render_plugins=[_CompleteJson()],
    )
