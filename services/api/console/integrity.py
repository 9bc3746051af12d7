"""The log's integrity: the latest recorded verification, and a button to run one now.

A run reads the whole log, so it runs beside the request, one at a time per process; the
page refreshes itself while it runs and shows the verdict once it is recorded.
"""

from __future__ import annotations

import asyncio
from datetime import datetime
from html import escape
from typing import Any

import structlog
from litestar import Request, Response, get, post
from litestar.datastructures import FormMultiDict

from schemas.envelope import Metadata
from schemas.events import AuditLogVerified
from services.api.console.html import form, notice
from services.api.console.session import (
    Operator,
    html_page,
    operator,
    redirect,
    submitted_form,
)
from services.authority import Authority
from services.commands import utcnow
from services.integrity import latest_verification, verify_and_record

__all__ = ["integrity", "run_verification"]

log = structlog.get_logger(__name__)
_RUNNING = "console_verification"


Finished = tuple[AuditLogVerified, datetime, str]


def _task(request: Request[Any, Any, Any]) -> asyncio.Task[Finished] | None:
    task: asyncio.Task[Finished] | None = request.app.state.get(_RUNNING)
    return task


def _running(request: Request[Any, Any, Any]) -> bool:
    task = _task(request)
    return task is not None and not task.done()


def _finished_here(request: Request[Any, Any, Any]) -> Finished | None:
    """This process's last run, which the audit trail may not show yet (projector lag)."""
    task = _task(request)
    if task is None or not task.done() or task.cancelled() or task.exception() is not None:
        return None
    return task.result()


async def _run(authority: Authority, metadata: Metadata) -> Finished:
    try:
        verdict = await verify_and_record(authority, metadata)
    except Exception:
        log.exception("console_verification_failed")
        raise
    return verdict, utcnow(), metadata.actor_id or metadata.actor


def _verdict(recorded_at: str, event: AuditLogVerified, actor: str) -> str:
    state = "intact" if event.intact else "NOT intact"
    kind = "success" if event.intact else "failure"
    breaks = "".join(f"<li>{escape(text)}</li>" for text in event.described)
    more = f"<ul id='breaks'>{breaks}</ul>" if breaks else ""
    return (
        f'<p id="verdict"><span class="badge {kind}">log {state}</span> — verified at'
        f" {escape(recorded_at)} UTC by {escape(actor)}.</p>"
        '<dl class="facts">'
        f"<dt>Events</dt><dd>{event.events} in {event.streams} streams, up to position"
        f" {event.last_position}</dd>"
        f"<dt>Checkpoints</dt><dd>{event.checkpoints}, covering up to position"
        f" {event.checkpointed_up_to}; {event.not_checkpointed} later events not yet"
        " checkpointed</dd>"
        f"<dt>Breaks</dt><dd>{event.breaks}</dd></dl>{more}"
    )


@get("/console/integrity", status_code=200)
async def integrity(request: Request[Any, Any, Any]) -> Response[str]:
    user = await operator(request, "compliance")
    if not isinstance(user, Operator):
        return user
    authority: Authority = request.app.state.authority
    running = _running(request)
    latest = await latest_verification(authority)
    here = _finished_here(request)
    body = (
        notice("A verification is running; this page refreshes until it is done.")
        if running
        else ""
    )
    if here is not None and (latest is None or latest.occurred_at < here[1]):
        body += _verdict(f"{here[1]:%Y-%m-%d %H:%M:%S}", here[0], here[2])
    elif latest is not None and isinstance(latest.event, AuditLogVerified):
        actor = latest.metadata.actor_id or latest.metadata.actor
        body += _verdict(f"{latest.occurred_at:%Y-%m-%d %H:%M:%S}", latest.event, actor)
    else:
        body += '<p id="verdict">No verification has been recorded yet.</p>'
    body += (
        "<p>Verifying recomputes every stream's hash chain and checks every signed checkpoint"
        " (as <code>keyledger audit verify</code> does); the verdict is recorded as an"
        " <code>audit_log_verified</code> event.</p>"
    )
    if not running:
        body += form(
            "/console/integrity/verify",
            user.viewer.csrf,
            "",
            button="Verify the log now",
            button_id="verify",
        )
    return html_page(
        "Integrity of the log",
        body,
        viewer=user.viewer,
        cookies=user.cookies,
        refresh_s=2 if running else None,
    )


@post("/console/integrity/verify", status_code=200)
async def run_verification(request: Request[Any, Any, Any]) -> Response[str]:
    user = await operator(request, "compliance")
    if not isinstance(user, Operator):
        return user
    submitted = await submitted_form(request, user)
    if not isinstance(submitted, FormMultiDict):
        return submitted
    if not _running(request):
        authority: Authority = request.app.state.authority
        task = asyncio.create_task(_run(authority, user.metadata(request)))
        request.app.state[_RUNNING] = task
    return redirect("/console/integrity")
