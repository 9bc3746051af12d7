"""The account page's view of the user's own access: active sessions and recent sign-ins,
each with a "this was not me" form (`POST /account/report`)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from html import escape

from services.account_activity import Session, SignInRow, sessions_of, sign_ins_of
from services.api.pages.messages import Lang, Messages, calendar_date
from services.authority import Authority

__all__ = ["activity_sections"]


def _when(lang: Lang, at: datetime) -> str:
    return f"{calendar_date(lang, at)} {at.astimezone(UTC):%H:%M} UTC"


def _time(lang: Lang, at: datetime) -> str:
    return f'<time datetime="{escape(at.isoformat())}">{escape(_when(lang, at))}</time>'


def _report(text: Messages, hidden: str, kind: str, reference: str, about: str) -> str:
    label = escape(f"{text.report}: {about}")
    return (
        f'<form method="post" action="/account/report">{hidden}'
        f'<input type="hidden" name="kind" value="{escape(kind)}">'
        f'<input type="hidden" name="reference" value="{escape(reference)}">'
        f'<button class="report" type="submit" aria-label="{label}">{escape(text.report)}'
        "</button></form>"
    )


def _session(text: Messages, lang: Lang, hidden: str, session: Session, name: str) -> str:
    line = escape(text.session_line).format(
        since=_time(lang, session.since), until=_time(lang, session.until)
    )
    return (
        f'<section class="session" data-family="{escape(session.family_id)}"'
        f' data-client="{escape(session.client_id)}"><h3>{escape(name)}</h3><p>{line}</p>'
        f"{_report(text, hidden, 'session', session.family_id, name)}</section>"
    )


def _sign_in(text: Messages, lang: Lang, hidden: str, row: SignInRow) -> str:
    outcome = text.signed_in_ok if row.succeeded else text.signed_in_refused
    where = " · ".join(escape(part) for part in (row.ip, row.user_agent) if part)
    report = _report(text, hidden, "sign_in", row.event_id, _when(lang, row.occurred_at))
    kind = "success" if row.succeeded else "failure"
    return (
        f'<li class="sign-in {kind}" data-event="{escape(row.event_id)}">'
        f"<strong>{escape(outcome)}</strong> {_time(lang, row.occurred_at)}"
        f"{' · ' + where if where else ''}{report if row.succeeded else ''}</li>"
    )


async def activity_sections(
    authority: Authority, text: Messages, lang: Lang, user_id: str, hidden: str
) -> str:
    sessions, sign_ins = await asyncio.gather(
        sessions_of(authority, user_id), sign_ins_of(authority, user_id)
    )
    clients = await asyncio.gather(*(authority.clients.cached(s.client_id) for s in sessions))
    listed = "".join(
        _session(text, lang, hidden, s, c.registration.name if c else s.client_id)
        for s, c in zip(sessions, clients, strict=True)
    )
    attempts = "".join(_sign_in(text, lang, hidden, row) for row in sign_ins)
    return (
        f'<h2 id="sessions">{escape(text.sessions_title)}</h2>'
        f"<p>{escape(text.sessions_lead if sessions else text.no_sessions)}</p>{listed}"
        f'<h2 id="activity">{escape(text.activity_title)}</h2>'
        f"<p>{escape(text.activity_lead if sign_ins else text.no_activity)}</p>"
        f'<ul class="sign-ins">{attempts}</ul>'
    )
