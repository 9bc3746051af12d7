"""The web console's entries in the OpenAPI table (operations.py)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

from schemas.http.console import ClientActionForm, ConsoleForm, HeldAtQuery, SearchQuery
from services.api.openapi.shapes import FORM, PAGE, REDIRECT, Answer, Operation

__all__ = ["CONSOLE_OPERATIONS"]

_CONSOLE_COOKIES: Final = ("kl_console", "kl_console_csrf", "kl_console_flow")
_EXPORT: Final = Answer("the file", str, media=("application/x-ndjson", "text/csv"))


def _console(
    summary: str, body: type | None = None, errors: tuple[int, ...] = (), **kw: Any
) -> Operation:
    """A console page: signed out, it redirects to `/console`; without the role, 403."""
    answers = {200: PAGE, 303: REDIRECT, **kw.pop("answers", {})}
    return Operation(
        summary, body=body, media=(FORM,), cookies=_CONSOLE_COOKIES, answers=answers,
        errors=(403, 429, *errors), page=True, **kw,
    )  # fmt: skip


CONSOLE_OPERATIONS: Final[Mapping[tuple[str, str], Operation]] = {
    ("get", "/console"): _console("The console: what the signed-in user may do, or signing in"),
    ("get", "/console/sign-in"): _console("Sign in to the console (the authorization code flow)"),
    ("get", "/console/callback"): _console("The console's redirect URI", errors=(400,)),
    ("post", "/console/sign-out"): _console("Sign out of the console", ConsoleForm, (413,)),
    ("get", "/console/audit"): _console("Search the audit trail", errors=(400,), query=SearchQuery),
    ("get", "/console/audit/timeline"): _console(
        "A user's timeline, by client", errors=(400,), query=SearchQuery
    ),
    ("get", "/console/audit/at"): _console(
        "Access as of an instant", errors=(400,), query=HeldAtQuery
    ),
    ("get", "/console/audit/export"): _console(
        "Export the search's rows", errors=(400,), query=SearchQuery, answers={200: _EXPORT}
    ),
    ("get", "/console/audit/signed-export"): _console(
        "Export a user's signed events with proofs",
        errors=(400,),
        query=SearchQuery,
        answers={200: _EXPORT},
    ),
    ("get", "/console/integrity"): _console("The latest verification of the log"),
    ("post", "/console/integrity/verify"): _console("Verify the log now", ConsoleForm, (413,)),
    ("get", "/console/clients"): _console("Clients"),
    ("get", "/console/clients/{client_id}"): _console("A client", errors=(404,)),
    ("post", "/console/clients/{client_id}/{action}"): _console(
        "Rotate a client's secret, suspend, reinstate or ban it, with a reason",
        ClientActionForm,
        (400, 404, 409, 413),
    ),
    ("get", "/console/keys"): _console("Signing keys"),
    ("post", "/console/keys/rotate"): _console("Rotate the signing keys", ConsoleForm, (413,)),
    ("get", "/console/workspaces"): _console("Workspaces and API keys nearing expiry"),
    ("get", "/console/status"): _console("Lag, connected accounts' health, latest revocations"),
}
