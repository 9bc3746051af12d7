"""Compliance pages: search the audit trail, a user's timeline, access as of an instant,
exports of the current search. Every read goes through services/compliance.py, so each is
recorded as an `audit_trail_read` of the console user before it is shown."""

from __future__ import annotations

from collections.abc import Sequence
from html import escape
from typing import Any, Final

from litestar import Request, Response, get

from schemas.events import EVENT_TYPES, to_snake_case
from schemas.http.audit import AuditRow, PointInTimeQuery, TimelineQuery
from services import compliance
from services.api.console.html import Cell, field, table
from services.api.console.search import Search, auditor, chart, held_at_query, read_search
from services.api.console.session import Operator, denied, html_page, operator
from services.authority import Authority
from services.refusals import Refused

__all__ = ["access_as_of", "audit_search", "guarded", "user_timeline"]

_HEADERS: Final = (
    "When (UTC)",
    "Action",
    "Outcome",
    "Reason",
    "Actor",
    "User",
    "Client",
    "IP",
    "Hash",
)


# The event types, offered as the action field's suggestions (it stays free text).
_ACTION_LIST: Final = (
    '<datalist id="actions">'
    + "".join(f'<option value="{to_snake_case(cls.__name__)}">' for cls in EVENT_TYPES)
    + "</datalist>"
)


def _badge(outcome: str) -> str:
    kind = "failure" if outcome == "failure" else "success"
    return f'<span class="badge {kind}">{escape(outcome)}</span>'


def _cells(row: AuditRow) -> tuple[str, Sequence[Cell | str]]:
    actor = row.actor + (f" {row.actor_id}" if row.actor_id else "")
    return (
        "failure" if row.outcome == "failure" else "",
        [
            Cell(f"{row.occurred_at:%Y-%m-%d %H:%M:%S}", mono=True),
            Cell(row.action, mono=True),
            Cell(html=_badge(row.outcome)),
            row.reason or "",
            actor,
            Cell(row.subject_user or "", mono=True),
            Cell(row.client_id or "", mono=True),
            row.ip or "",
            Cell(html=f'<code title="{escape(row.hash)}">{escape(row.hash[:12])}</code>'),
        ],
    )


def _filters(search: Search) -> str:
    given = search.given
    outcome = given.get("outcome", "")
    options = "".join(
        f'<option value="{value}"{" selected" if value == outcome else ""}>{label}</option>'
        for value, label in (("", "any"), ("success", "success"), ("failure", "failure"))
    )
    return (
        '<form class="filters" method="get" action="/console/audit" role="search">'
        + field("user", "User (username or id)", given.get("user"))
        + field("client", "Client id", given.get("client"))
        + field("action", "Action (event type)", given.get("action"), list="actions")
        + f'<div><label for="f-outcome">Outcome</label><select id="f-outcome" name="outcome">'
        f"{options}</select></div>"
        + field("ip", "IP address", given.get("ip"))
        + field("from", "From (UTC)", given.get("from"), kind="datetime-local", step="1")
        + field("to", "To (UTC)", given.get("to"), kind="datetime-local", step="1")
        + '<div class="actions"><button class="primary" id="search" type="submit">Search'
        "</button></div></form>" + _ACTION_LIST
    )


def _download(search: Search, kind: str, path: str) -> str:
    return " · ".join(
        f'<a id="{kind}-{fmt}" href="{escape(search.link(path, format=fmt, cursor=None))}"'
        f" download>{fmt.upper()}</a>"
        for fmt in ("ndjson", "csv")
    )


def _exports(search: Search) -> str:
    rows = _download(search, "export", "/console/audit/export")
    signed = ""
    if search.user_id is not None:
        signed = " · signed events with proofs: " + _download(
            search, "signed", "/console/audit/signed-export"
        )
    return (
        f'<p id="exports">Export this search: {rows}{signed}</p>'
        "<p><small>Each row carries its event's chain hash. The signed export (a user named)"
        " holds that user's events in the range with the signed checkpoints, their keys and"
        " an inclusion proof per event: check it offline with"
        " <code>keyledger audit verify-export FILE --jwks JWKS</code>.</small></p>"
    )


async def guarded(request: Request[Any, Any, Any]) -> tuple[Operator, Authority] | Response[str]:
    user = await operator(request, "compliance")
    if not isinstance(user, Operator):
        return user
    authority: Authority = request.app.state.authority
    return user, authority


@get("/console/audit", status_code=200)
async def audit_search(request: Request[Any, Any, Any]) -> Response[str]:
    """The audit trail with the audit API's filters, the chart, exports, paging."""
    allowed = await guarded(request)
    if isinstance(allowed, Response):
        return allowed
    user, authority = allowed
    try:
        search = await read_search(request, authority)
        found = await compliance.read_page(authority, auditor(request, user), search.query)
        drawn = await chart(authority, search)
    except Refused as refused:
        return denied(user.viewer, refused.description, 400)
    more = ""
    if found.next_cursor is not None:
        href = escape(search.link("/console/audit", cursor=found.next_cursor))
        more = f'<p><a id="older" rel="next" href="{href}">Older rows</a></p>'
    rows = table(
        f"{len(found.events)} rows, newest first",
        _HEADERS,
        map(_cells, found.events),
        table_id="rows",
        empty="No row matches this search.",
    )
    body = _filters(search) + "<h2>Actions per hour</h2>" + drawn + _exports(search) + rows + more
    return html_page("Audit trail", body, viewer=user.viewer, cookies=user.cookies)


async def _grouped(authority: Authority, rows: Sequence[AuditRow]) -> str:
    """Every action in order (oldest first), one table per client, failures highlighted."""
    groups: dict[str, list[AuditRow]] = {}
    for row in reversed(rows):
        groups.setdefault(row.client_id or "", []).append(row)
    parts = []
    for client, members in sorted(groups.items(), key=lambda item: item[1][0].occurred_at):
        failures = sum(row.outcome == "failure" for row in members)
        record = await authority.clients.cached(client) if client else None
        name = f"{record.registration.name} ({client})" if record is not None else client
        title = f"Client {name}" if client else "Without a client"
        parts.append(
            f'<section class="client" data-client="{escape(client)}"><h2>{escape(title)}</h2>'
            + table(
                f"{len(members)} actions, {failures} failed, oldest first",
                _HEADERS,
                map(_cells, members),
            )
            + "</section>"
        )
    return "".join(parts)


@get("/console/audit/timeline", status_code=200)
async def user_timeline(request: Request[Any, Any, Any]) -> Response[str]:
    allowed = await guarded(request)
    if isinstance(allowed, Response):
        return allowed
    user, authority = allowed
    form = (
        '<form class="filters" method="get" action="/console/audit/timeline" role="search">'
        '{fields}<div class="actions"><button class="primary" id="show" type="submit">Show'
        "</button></div></form>"
    )
    try:
        search = await read_search(request, authority)
        fields = field("user", "User (username or id)", search.given.get("user"), required="")
        fields += field("from", "From (UTC)", search.given.get("from"), kind="datetime-local")
        fields += field("to", "To (UTC)", search.given.get("to"), kind="datetime-local")
        body = form.format(fields=fields)
        if search.user_id is None:
            return html_page("User timeline", body, viewer=user.viewer, cookies=user.cookies)
        query = TimelineQuery(
            from_=search.query.from_, to=search.query.to, cursor=search.query.cursor, limit=1000
        )
        found = await compliance.read_page(
            authority, auditor(request, user), query, user=search.user_id
        )
    except Refused as refused:
        return denied(user.viewer, refused.description, 400)
    if found.next_cursor is not None:
        href = escape(search.link("/console/audit/timeline", cursor=found.next_cursor))
        body += f'<p><a id="older" href="{href}">Earlier actions</a></p>'
    body += (
        await _grouped(authority, found.events) or '<p class="empty">No action of this user.</p>'
    )
    return html_page("User timeline", body, viewer=user.viewer, cookies=user.cookies)


@get("/console/audit/at", status_code=200)
async def access_as_of(request: Request[Any, Any, Any]) -> Response[str]:
    """Tokens, scopes and consents a user held at an instant, worked out from the log."""
    allowed = await guarded(request)
    if isinstance(allowed, Response):
        return allowed
    user, authority = allowed
    try:
        query, user_id, at = await held_at_query(request, authority)
        body = (
            '<form class="filters" method="get" action="/console/audit/at" role="search">'
            + field("user", "User (username or id)", query.user, required="")
            + field("at", "As of (UTC)", query.at, kind="datetime-local", step="1", required="")
            + '<div class="actions"><button class="primary" id="show" type="submit">Show'
            "</button></div></form>"
        )
        if user_id is None or at is None:
            return html_page("Access as of", body, viewer=user.viewer, cookies=user.cookies)
        held = await compliance.point_in_time(
            authority, auditor(request, user), PointInTimeQuery(at=at, user=user_id)
        )
    except Refused as refused:
        return denied(user.viewer, refused.description, 400)
    body += f"<h2>Held at {held.at:%Y-%m-%d %H:%M:%S} UTC</h2>"
    body += f'<p id="scopes">Scopes: {escape(" ".join(held.scopes) or "none")}</p>'
    body += table(
        "Tokens",
        ("Kind", "Client", "Scopes", "Issued", "Expires", "jti / family"),
        (
            (
                "",
                [
                    t.kind,
                    Cell(t.client_id, mono=True),
                    " ".join(t.scopes),
                    f"{t.issued_at:%Y-%m-%d %H:%M}",
                    f"{t.expires_at:%Y-%m-%d %H:%M}",
                    Cell(t.jti or t.family_id, mono=True),
                ],
            )
            for t in held.tokens
        ),
        table_id="tokens",
        empty="No token was held then.",
    )
    body += table(
        "Consents",
        ("Client", "Scopes", "Granted"),
        (
            (
                "",
                [
                    Cell(c.client_id, mono=True),
                    " ".join(c.scopes),
                    f"{c.granted_at:%Y-%m-%d %H:%M}",
                ],
            )
            for c in held.consents
        ),
        table_id="consents",
        empty="No consent was held then.",
    )
    body += table(
        "Clients then",
        ("Client", "Status"),
        (
            ("" if c.status == "active" else "warning", [Cell(c.client_id, mono=True), c.status])
            for c in held.clients
        ),
    )
    return html_page("Access as of", body, viewer=user.viewer, cookies=user.cookies)
