"""The OpenAPI document: Litestar's, completed with `operations.OPERATIONS`.

Litestar documents paths, path parameters and typed success bodies; the rest (request
bodies, query parameters the handlers read by hand, security, every refusal in the one
error shape, the raw ASGI endpoints) comes from the table. An operation missing from the
table, or an entry naming no route, is an error here, so the document cannot drift from
the app unnoticed. Schemas come from the same msgspec Structs the handlers decode.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable, Mapping
from typing import Any, Final

import msgspec

from domain.scopes import CATALOGUE
from services.api.errors import ErrorBody
from services.api.openapi.operations import OPERATIONS
from services.api.openapi.shapes import HTML, JSON, Answer, Operation

__all__ = ["SECURITY_SCHEMES", "complete"]

_METHODS: Final = frozenset({"get", "put", "post", "delete", "patch"})
_REF: Final = "#/components/schemas/{name}"
_ERROR: Final = {"$ref": _REF.format(name="ErrorBody")}
_STATUS_TEXT: Final = {
    400: "invalid_request (and the other RFC 6749 5.2 errors)",
    401: "the client or the bearer credential is not valid",
    403: "the credential may not do this",
    404: "nothing of that id the caller may see",
    409: "the change does not apply in the current state",
    413: "the request body is over 64 KiB",
    429: "too many failed sign-ins, or over a rate limit; retry after `Retry-After` seconds",
    503: "temporarily unavailable",
}

_SCOPES: Final = {
    **{name: scope.data["en"] for name, scope in CATALOGUE.items()},
    "keyledger:admin": "The management API.",
    "keyledger:introspect": "Introspect any client's tokens.",
}
SECURITY_SCHEMES: Final[dict[str, Any]] = {
    "client_basic": {
        "type": "http",
        "scheme": "basic",
        "description": "client_secret_basic (RFC 6749 2.3.1): client id and secret, each"
        " form-urlencoded. client_secret_post sends them in the body instead.",
    },
    "access_token": {
        "type": "oauth2",
        "description": "An access token as `Authorization: Bearer` (RFC 6750), checked"
        " against the live token state.",
        "flows": {
            "clientCredentials": {"tokenUrl": "/oauth/token", "scopes": _SCOPES},
            "authorizationCode": {
                "authorizationUrl": "/oauth/authorize",
                "tokenUrl": "/oauth/token",
                "scopes": _SCOPES,
            },
        },
    },
    "api_key": {
        "type": "http",
        "scheme": "bearer",
        "bearerFormat": "klk_...",
        "description": "A workspace API key, with its workspace in `X-Workspace-Id`.",
    },
    "workspace_id": {"type": "apiKey", "in": "header", "name": "X-Workspace-Id"},
}


class _Schemas:
    """JSON Schema of every type the table names, generated in one pass by msgspec."""

    def __init__(self, operations: Iterable[Operation]) -> None:
        types: list[Any] = [ErrorBody]
        for spec in operations:
            types.extend(_body_types(spec.body))
            types.extend(answer.body for answer in spec.answers.values() if answer.body)
            if spec.query is not None:
                types.append(spec.query)
        self._types = list(dict.fromkeys(types))
        generated, self.components = msgspec.json.schema_components(self._types, ref_template=_REF)
        self._schemas = dict(zip(self._types, generated, strict=True))

    def of(self, kind: Any) -> dict[str, Any]:
        if isinstance(kind, tuple):
            return {"allOf": [self.of(part) for part in kind]}
        return copy.deepcopy(self._schemas[kind])

    def properties(self, struct: type) -> Iterable[tuple[str, dict[str, Any], bool]]:
        """(name, schema, required) of each field of a Struct."""
        name = self._schemas[struct]["$ref"].rsplit("/", 1)[1]
        component = self.components[name]
        required = set(component.get("required", ()))
        for field, schema in component["properties"].items():
            yield field, _without_null(schema), field in required


def _body_types(body: Any) -> tuple[Any, ...]:
    if body is None:
        return ()
    return body if isinstance(body, tuple) else (body,)


def _without_null(schema: dict[str, Any]) -> dict[str, Any]:
    """A query parameter is absent rather than null."""
    options = [o for o in schema.get("anyOf", ()) if o != {"type": "null"}]
    if "anyOf" not in schema or len(options) == len(schema["anyOf"]):
        return schema
    rest = {k: v for k, v in schema.items() if k not in ("anyOf", "default")}
    return {**rest, **options[0]} if len(options) == 1 else {**rest, "anyOf": options}


def _answer(answer: Answer, schemas: _Schemas) -> dict[str, Any]:
    response: dict[str, Any] = {"description": answer.description}
    if answer.body is not None:
        schema = schemas.of(answer.body)
        response["content"] = {media: {"schema": schema} for media in answer.media}
    elif answer.media == (HTML,):
        response["content"] = {HTML: {"schema": {"type": "string"}}}
    if answer.headers:
        response["headers"] = {
            name: {"required": True, "schema": {"type": "string"}} for name in answer.headers
        }
    return response


def _error(status: int, page: bool) -> dict[str, Any]:
    content: dict[str, Any] = {JSON: {"schema": _ERROR}}
    if page:
        # The page says why; a request the server cannot read at all gets the JSON shape.
        content = {HTML: {"schema": {"type": "string"}}, **content}
    response: dict[str, Any] = {"description": _STATUS_TEXT[status], "content": content}
    if status == 429:
        response["headers"] = {"Retry-After": {"required": True, "schema": {"type": "string"}}}
    return response


def _parameters(spec: Operation, schemas: _Schemas) -> list[dict[str, Any]]:
    parameters: list[dict[str, Any]] = []
    if spec.query is not None:
        parameters.extend(
            {"name": name, "in": "query", "required": required, "schema": schema}
            for name, schema, required in schemas.properties(spec.query)
        )
    parameters.extend(
        {"name": name, "in": "header", "required": False, "description": text,
         "schema": {"type": "string"}}
        for name, text in spec.headers.items()
    )  # fmt: skip
    parameters.extend(
        {"name": name, "in": "cookie", "required": False, "schema": {"type": "string"}}
        for name in spec.cookies
    )
    return parameters


def _apply(operation: dict[str, Any], spec: Operation, schemas: _Schemas) -> None:
    operation["summary"] = spec.summary
    operation["security"] = [
        {name: list(scopes) for name, scopes in requirement.items()}
        for requirement in spec.security
    ]
    path_parameters = [p for p in operation.get("parameters", ()) if p["in"] == "path"]
    parameters = path_parameters + _parameters(spec, schemas)
    if parameters:
        operation["parameters"] = parameters
    else:
        operation.pop("parameters", None)
    if spec.body is not None:
        schema = schemas.of(spec.body)
        operation["requestBody"] = {
            "required": spec.body_required,
            "content": {media: {"schema": schema} for media in spec.media},
        }
    generated: Mapping[str, Any] = operation.get("responses", {})
    responses = {
        status: response
        for status, response in generated.items()
        if status.startswith("2") and not spec.answers
    }
    responses.update({str(s): _answer(a, schemas) for s, a in spec.answers.items()})
    responses.update({str(status): _error(status, spec.page) for status in spec.errors})
    operation["responses"] = responses


def _operation_id(method: str, path: str) -> str:
    words = path.replace("/", " ").replace("-", " ").replace(".", " ").split()
    return method.capitalize() + "".join(word.capitalize() for word in words)


def complete(generated: Mapping[str, Any]) -> dict[str, Any]:
    """Litestar's document (`app.openapi_schema.to_schema()`) with every operation complete."""
    document = copy.deepcopy(dict(generated))
    paths: dict[str, dict[str, Any]] = document.setdefault("paths", {})
    listed = {(m, path) for path, item in paths.items() for m in item if m in _METHODS}
    undocumented = sorted(listed - OPERATIONS.keys())
    if undocumented:
        raise LookupError(f"operations missing from OPERATIONS: {undocumented}")
    schemas = _Schemas(OPERATIONS.values())
    for (method, path), spec in OPERATIONS.items():
        item = paths.setdefault(path, {})
        if method not in item:
            if not spec.raw:
                raise LookupError(f"OPERATIONS names {method.upper()} {path}, not a route")
            item[method] = {"operationId": _operation_id(method, path)}
        _apply(item[method], spec, schemas)
    components = document.setdefault("components", {})
    known = components.setdefault("schemas", {})
    for name, schema in schemas.components.items():
        known.setdefault(name, schema)
    components["securitySchemes"] = SECURITY_SCHEMES
    return document
