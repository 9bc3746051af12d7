"""The platform in the console: signing keys and their rotation, workspaces and API keys
(nearing expiry highlighted), and a status page: followers' lag, connected accounts' health,
revocations as they happen (the page refreshes itself)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any, Final

from litestar import Request, Response, get, post
from litestar.datastructures import FormMultiDict

from services import administration
from services.api.console.html import Cell, form, notice, table
from services.api.console.session import (
    Operator,
    html_page,
    operator,
    redirect,
    submitted_form,
)
from services.authority import Authority
from services.commands import utcnow
from services.console_views import (
    connection_health,
    follower_lag,
    recent_revocations,
    signing_keys,
    workspaces,
)
from services.workspace_queries import expiring_keys

__all__ = ["keys_page", "rotate_keys", "status_page", "workspaces_page"]

# An API key expiring within this is highlighted (as `keyledger keys expiring` defaults).
_SOON: Final = timedelta(days=14)
_LISTED: Final = timedelta(days=90)
_REFRESH_S: Final = 5


@get("/console/keys", status_code=200)
async def keys_page(request: Request[Any, Any, Any]) -> Response[str]:
    user = await operator(request, "operator")
    if not isinstance(user, Operator):
        return user
    authority: Authority = request.app.state.authority
    keys = await signing_keys(authority.pool)
    rows: list[tuple[str, list[Cell | str]]] = [
        (
            "failure" if k.status == "revoked" else "",
            [
                Cell(k.kid, mono=True),
                k.alg,
                k.status,
                f"{k.created_at:%Y-%m-%d %H:%M}",
                f"{k.retired_at:%Y-%m-%d %H:%M}" if k.retired_at else "",
                f"{k.revoked_at:%Y-%m-%d %H:%M}" if k.revoked_at else "",
            ],
        )
        for k in keys
    ]
    done = notice("New signing keys are current.") if request.query_params.get("done") else ""
    body = done + table(
        "Signing keys, newest first",
        ("Key id", "Algorithm", "Status", "Created", "Retired", "Revoked"),
        rows,
        table_id="keys",
    )
    body += (
        "<p>Rotating makes a new ES256 and RS256 pair current; retired keys stay in the JWKS for"
        " 24 hours, so tokens they signed keep validating.</p>"
        + form(
            "/console/keys/rotate",
            user.viewer.csrf,
            "",
            button="Rotate signing keys",
            button_id="rotate-keys",
        )
    )
    return html_page("Signing keys", body, viewer=user.viewer, cookies=user.cookies)


@post("/console/keys/rotate", status_code=200)
async def rotate_keys(request: Request[Any, Any, Any]) -> Response[str]:
    user = await operator(request, "operator")
    if not isinstance(user, Operator):
        return user
    submitted = await submitted_form(request, user)
    if not isinstance(submitted, FormMultiDict):
        return submitted
    authority: Authority = request.app.state.authority
    await administration.rotate_signing_keys(authority, user.metadata(request, admin=True))
    return redirect("/console/keys?done=1")


@get("/console/workspaces", status_code=200)
async def workspaces_page(request: Request[Any, Any, Any]) -> Response[str]:
    user = await operator(request, "operator")
    if not isinstance(user, Operator):
        return user
    authority: Authority = request.app.state.authority
    now = utcnow()
    listed = await workspaces(authority.pool)
    keys = await expiring_keys(authority.pool, _LISTED)
    body = table(
        "Workspaces, newest first",
        ("Name", "Workspace id", "Active members", "Created"),
        (
            (
                "",
                [
                    w.name,
                    Cell(w.workspace_id, mono=True),
                    str(w.members),
                    f"{w.created_at:%Y-%m-%d}",
                ],
            )
            for w in listed
        ),
        table_id="workspaces",
        empty="No workspace yet.",
    )
    body += table(
        "Live API keys expiring within 90 days, soonest first (within 14 days highlighted)",
        ("Workspace", "Key id", "Name", "Scopes", "Expires"),
        (
            (
                "warning" if k.expires_at is not None and k.expires_at - now < _SOON else "",
                [
                    Cell(k.workspace_id, mono=True),
                    Cell(k.key_id, mono=True),
                    k.name,
                    " ".join(k.scopes),
                    f"{k.expires_at:%Y-%m-%d %H:%M}" if k.expires_at else "never",
                ],
            )
            for k in sorted(keys, key=lambda k: (k.expires_at or now, k.key_id))
        ),
        table_id="api-keys",
        empty="No live API key expires within 90 days.",
    )
    return html_page("Workspaces and API keys", body, viewer=user.viewer, cookies=user.cookies)


@get("/console/status", status_code=200)
async def status_page(request: Request[Any, Any, Any]) -> Response[str]:
    user = await operator(request, "operator")
    if not isinstance(user, Operator):
        return user
    authority: Authority = request.app.state.authority
    lag = await follower_lag(authority.pool)
    health = await connection_health(authority.pool)
    revoked = await recent_revocations(authority.pool)
    body = f"<p>This page refreshes every {_REFRESH_S} seconds.</p>"
    body += table(
        "Followers of the log",
        ("Follower", "Checkpoint position", "Log position", "Lag (s)"),
        (
            (
                "warning" if s.lag_seconds > 5 else "",
                [s.name, str(s.checkpoint_position), str(s.last_position), f"{s.lag_seconds:.2f}"],
            )
            for s in lag
        ),
        table_id="lag",
    )
    body += table(
        "Connected accounts by state",
        ("State", "Connections"),
        (
            ("warning" if state in ("needs_reauthentication", "failed") else "", [state, str(n)])
            for state, n in health
        ),
        table_id="connections",
        empty="No connected account.",
    )
    body += table(
        "Latest revocations, newest first (from the audit trail)",
        ("When (UTC)", "Cause", "Actor", "User", "Through client", "What"),
        (
            (
                "",
                [
                    Cell(f"{r['occurred_at']:%Y-%m-%d %H:%M:%S}", mono=True),
                    Cell(r["action"], mono=True),
                    f"{r['actor']} {r['actor_id'] or ''}".strip(),
                    Cell(r["subject_user"] or "", mono=True),
                    Cell(r["client_id"] or "", mono=True),
                    Cell(r["resource"] or "", mono=True),
                ],
            )
            for r in revoked
        ),
        table_id="revocations",
        empty="No revocation yet.",
    )
    return html_page("Status", body, viewer=user.viewer, cookies=user.cookies, refresh_s=_REFRESH_S)
