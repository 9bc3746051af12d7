"""Clients in the console: the list, one client's details, and its lifecycle: rotate the
secret, suspend, reinstate, ban. Each asks for a reason, which the event records; the
changes go through services/administration.py, as the management API's do."""

from __future__ import annotations

from html import escape
from typing import Any, Final

from litestar import Request, Response, get, post
from litestar.datastructures import FormMultiDict
from litestar.params import FromPath

from services import administration
from services.administration import StatusAction
from services.api.console.html import Cell, form, notice, table
from services.api.console.session import (
    Operator,
    denied,
    html_page,
    operator,
    redirect,
    submitted_form,
)
from services.authority import Authority
from services.clients import ClientRecord
from services.refusals import Refused

__all__ = ["change_client", "client_details", "client_list"]

_MAX_REASON: Final = 500
_STATUS: Final = {"not_found": 404, "conflict": 409, "invalid_request": 400}
_DONE: Final = {
    "suspend": "The client is suspended: every token it holds stopped working.",
    "reinstate": "The client is reinstated: it may get tokens again.",
    "ban": "The client is banned: every token it holds stopped working, for good.",
}


def _status(status: str) -> Cell:
    kind = "success" if status == "active" else "failure"
    return Cell(
        html=f'<span class="badge {kind}" data-status="{escape(status)}">{escape(status)}</span>'
    )


def _link(client: ClientRecord) -> str:
    name = escape(client.registration.name)
    return f'<a href="/console/clients/{escape(client.client_id)}">{name}</a>'


@get("/console/clients", status_code=200)
async def client_list(request: Request[Any, Any, Any]) -> Response[str]:
    user = await operator(request, "operator")
    if not isinstance(user, Operator):
        return user
    authority: Authority = request.app.state.authority
    clients = await authority.clients.list()
    rows = (
        (
            "" if c.status == "active" else "warning",
            [
                Cell(html=_link(c)),
                Cell(c.client_id, mono=True),
                _status(c.status),
                "confidential" if c.confidential else "public",
                " ".join(c.registration.grant_types),
                Cell(c.registration.workspace_id or "", mono=True),
            ],
        )
        for c in clients
    )
    body = table(
        f"{len(clients)} clients",
        ("Name", "Client id", "Status", "Type", "Grants", "Workspace"),
        rows,
        table_id="clients",
    )
    return html_page("Clients", body, viewer=user.viewer, cookies=user.cookies)


def _reason_form(client: ClientRecord, action: str, label: str, csrf: str, danger: bool) -> str:
    reason = (
        f'<div><label for="reason-{action}">Reason ({escape(label.lower())})</label>'
        f'<input id="reason-{action}" name="reason" required maxlength="{_MAX_REASON}"></div>'
    )
    return form(
        f"/console/clients/{client.client_id}/{action}",
        csrf,
        reason,
        button=label,
        button_class="danger" if danger else "primary",
        button_id=f"do-{action}",
    )


def _details(
    user: Operator, client: ClientRecord, message: str | None = None, extra: str = ""
) -> str:
    r = client.registration
    facts = (
        '<dl class="facts">'
        f"<dt>Client id</dt><dd><code>{escape(client.client_id)}</code></dd>"
        f'<dt>Status</dt><dd id="status">{_status(client.status).html}</dd>'
        f"<dt>Type</dt><dd>{'confidential' if r.confidential else 'public'}</dd>"
        f"<dt>Grant types</dt><dd>{escape(' '.join(r.grant_types))}</dd>"
        f"<dt>Scopes</dt><dd>{escape(' '.join(r.scopes))}</dd>"
        f"<dt>Redirect URIs</dt><dd>{escape(' '.join(r.redirect_uris)) or '—'}</dd>"
        f"<dt>Lifetimes</dt><dd>access {r.access_token_ttl} s, refresh {r.refresh_token_ttl} s</dd>"
        f"<dt>Workspace</dt><dd>{escape(r.workspace_id or '—')}</dd></dl>"
    )
    csrf = user.viewer.csrf
    forms = []
    if client.status == "active" and client.confidential:
        forms.append(_reason_form(client, "rotate-secret", "Rotate secret", csrf, False))
    if client.status == "active":
        forms.append(_reason_form(client, "suspend", "Suspend", csrf, True))
    if client.status == "suspended":
        forms.append(_reason_form(client, "reinstate", "Reinstate", csrf, False))
    if client.status != "banned":
        forms.append(_reason_form(client, "ban", "Ban", csrf, True))
    return notice(message) + extra + facts + "<h2>Lifecycle</h2>" + "".join(forms)


@get("/console/clients/{client_id:str}", status_code=200)
async def client_details(
    request: Request[Any, Any, Any], client_id: FromPath[str]
) -> Response[str]:
    user = await operator(request, "operator")
    if not isinstance(user, Operator):
        return user
    authority: Authority = request.app.state.authority
    try:
        client = await administration.get_client(authority, client_id)
    except Refused as refused:
        return denied(user.viewer, refused.description, 404)
    message = _DONE.get(request.query_params.get("done") or "")
    body = _details(user, client, message)
    return html_page(client.registration.name, body, viewer=user.viewer, cookies=user.cookies)


async def _reason(request: Request[Any, Any, Any], user: Operator) -> str | Response[str]:
    submitted = await submitted_form(request, user)
    if not isinstance(submitted, FormMultiDict):
        return submitted
    reason = submitted.get("reason")
    reason = reason.strip() if isinstance(reason, str) else ""
    if not reason or len(reason) > _MAX_REASON or not reason.isprintable():
        return denied(user.viewer, f"Give a reason (1 to {_MAX_REASON} printable characters).", 400)
    return reason


def _not_here(user: Operator, client_id: str, action: str) -> Response[str] | None:
    if action not in ("suspend", "reinstate", "ban", "rotate-secret"):
        return denied(user.viewer, f"There is no client action {action!r}.", 404)
    if client_id == user.client.client_id:
        # Suspending it from here would lock every operator out of the console.
        return denied(user.viewer, "The console's own client is managed with the CLI.", 409)
    return None


@post("/console/clients/{client_id:str}/{action:str}", status_code=200)
async def change_client(
    request: Request[Any, Any, Any], client_id: FromPath[str], action: FromPath[str]
) -> Response[str]:
    """Suspend, reinstate, ban or rotate the secret, with the reason given."""
    user = await operator(request, "operator")
    if not isinstance(user, Operator):
        return user
    if (blocked := _not_here(user, client_id, action)) is not None:
        return blocked
    reason = await _reason(request, user)
    if isinstance(reason, Response):
        return reason
    authority: Authority = request.app.state.authority
    metadata = user.metadata(request, admin=True)
    try:
        if action == "rotate-secret":
            rotated = await administration.rotate_client_secret(
                authority, client_id, None, metadata, reason
            )
            client = await administration.get_client(authority, client_id)
            shown = (
                "<h2>New secret</h2><p>Shown once: store it now, it cannot be read back."
                " The previous secret keeps working for the overlap.</p>"
                f'<p class="secret" id="secret">{escape(rotated.client_secret)}</p>'
            )
            body = _details(user, client, "The secret is rotated.", shown)
            return html_page(
                client.registration.name, body, viewer=user.viewer, cookies=user.cookies
            )
        status_action: StatusAction = (
            "suspend" if action == "suspend" else "ban" if action == "ban" else "reinstate"
        )
        await administration.change_client_status(
            authority, client_id, status_action, reason, metadata
        )
    except Refused as refused:
        return denied(user.viewer, refused.description, _STATUS.get(refused.reason, 400))
    return redirect(f"/console/clients/{client_id}?done={action}")
