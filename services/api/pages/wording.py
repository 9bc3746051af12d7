"""The shape of the pages' wording: one field per text, the same in every language."""

from __future__ import annotations

from dataclasses import dataclass

from domain.scopes import CATALOGUE

__all__ = ["Messages", "catalogued"]


@dataclass(frozen=True, slots=True)
class Messages:
    sign_in_title: str
    sign_in_lead: str  # {client}
    username: str
    password: str
    otp: str
    otp_hint: str
    sign_in: str
    consent_title: str
    consent_lead: str  # {client}
    data: str
    why: str
    how_long: str
    no_reason: str  # {client}
    generic_scope: str  # {scope} {client}
    access_only: str  # {access}
    access_renewed: str  # {access} {refresh}
    approve: str
    deny: str
    error_title: str
    account_title: str
    account_sign_in_lead: str
    account_lead: str
    connected_since: str  # {date}
    no_applications: str
    disconnect: str
    disconnected: str  # {client}
    sign_out: str
    signed_out: str
    back_to_account: str
    rate_limited: str  # {seconds}
    until_disconnected: str  # {lasts}: how long each access lasts, in words
    sessions_title: str
    sessions_lead: str
    no_sessions: str
    session_line: str  # {since} {until}
    activity_title: str
    activity_lead: str
    no_activity: str
    signed_in_ok: str
    signed_in_refused: str
    report: str
    reported_session: str
    reported_sign_in: str
    sso_button: str
    sso_hint: str
    sso_redirect_title: str
    sso_redirect_lead: str  # {host}
    sso_continue: str
    sso_back_title: str
    sso_back_lead: str  # {host}
    scopes: dict[str, str]
    login_errors: dict[str, str]
    page_errors: dict[str, str]
    # (singular, plural) per unit, largest first: day, hour, minute, second.
    units: tuple[tuple[str, str], ...]
    joiner: str
    months: tuple[str, ...]
    first_day: str  # how the first of a month is written


def catalogued(lang: str) -> dict[str, str]:
    """The scope catalogue's words for the data each scope touches (domain/scopes.py)."""
    return {name: scope.data[lang] for name, scope in CATALOGUE.items()}
